import sys

from fireside.cli import main

sys.exit(main())
