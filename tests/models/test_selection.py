import pytest

from actmax.errors import FilterError
from actmax.models.selection import parse_filters


@pytest.mark.parametrize("text, expected", [
    ("0-3", [0, 1, 2, 3]),
    ("3,7,9", [3, 7, 9]),
    ("0-2,5", [0, 1, 2, 5]),
    (" 9, 2 ,2", [2, 9]),
    ("all", list(range(10))),
    ("ALL", list(range(10))),
    ("9", [9]),
])
def test_valid_selections(text, expected):
    assert parse_filters(text, 10) == expected


@pytest.mark.parametrize("text, message", [
    ("0-10", "range of this layer, 0-9"),
    ("12", "range of this layer, 0-9"),
    ("5-2", "runs backwards"),
    ("a-b", "bad filter selection"),
    ("1,,2", "bad filter selection"),
    ("-1", "bad filter selection"),
    ("", "bad filter selection"),
])
def test_bad_selections_name_the_problem(text, message):
    with pytest.raises(FilterError, match=message):
        parse_filters(text, 10)
