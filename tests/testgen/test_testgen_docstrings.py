from fireside.testgen.docstrings import parse_docstring


def test_google_style_params_returns_and_raises():
    info = parse_docstring(
        """Do it.

        Args:
            name (str): who.
            count (int, optional): how many.
            items (list of str): things.

        Returns:
            bool: whether it worked.

        Raises:
            ValueError: when count is negative.
        """
    )
    assert info.style == "google"
    assert info.params == {"name": "str", "count": "int", "items": "list[str]"}
    assert info.returns == "bool"
    assert info.raises == ["ValueError"]


def test_numpy_style():
    info = parse_docstring(
        """Sum.

        Parameters
        ----------
        a, b : float
            Terms.
        weights : list of int, optional
            Weights.

        Returns
        -------
        float
            The sum.
        """
    )
    assert info.style == "numpy"
    assert info.params == {"a": "float", "b": "float", "weights": "list[int]"}
    assert info.returns == "float"


def test_rest_style():
    info = parse_docstring(
        """Join.

        :param str sep: separator
        :param parts: the parts
        :type parts: list[str]
        :rtype: str
        :raises TypeError: on non-strings
        """
    )
    assert info.style == "rest"
    assert info.params == {"sep": "str", "parts": "list[str]"}
    assert info.returns == "str"
    assert info.raises == ["TypeError"]


def test_doctests_with_and_without_output():
    info = parse_docstring(
        """Example.

        >>> x = 2
        >>> double(x)
        4
        >>> double(
        ...     3)
        6
        """
    )
    assert [(d.source, d.expected) for d in info.doctests] == [
        ("x = 2", None),
        ("double(x)", "4"),
        ("double(\n    3)", "6"),
    ]


def test_no_docstring_and_plain_prose():
    assert parse_docstring(None).params == {}
    prose = parse_docstring("Just a sentence about things: nothing typed here.")
    assert prose.params == {} and prose.style is None
