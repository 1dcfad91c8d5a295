/** Line scanning the extension needs without a parser. No `vscode` import. */

/** 0-based lines of top-level `def`, `async def` and `class` statements in Python source. */
export function topLevelDefinitionLines(text: string): number[] {
  const lines: number[] = [];
  text.split(/\r\n|\r|\n/).forEach((line, index) => {
    if (/^(async\s+def|def|class)\s+[A-Za-z_]/.test(line)) {
      lines.push(index);
    }
  });
  return lines;
}
