import pytest

from actmax.errors import FilterError
from actmax.models.selection import describe, parse_filters
from actmax.optvis import render


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


def test_describe_writes_what_parse_filters_reads():
    assert describe([9, 0, 1, 2, 3, 7, 2]) == "0-3,7,9"
    assert parse_filters(describe([0, 1, 2, 5, 6]), 10) == [0, 1, 2, 5, 6]


def test_a_list_of_filters_is_checked_in_one_line(hed):
    """From Python, filters out of range read as runs, and an empty list says what to give."""
    with pytest.raises(FilterError, match=r"^filters 128-199 are outside .* 'block2_conv2', 0-127 \(128 filters\)$"):
        render.filter_list(hed, "block2_conv2", list(range(120, 200)))
    with pytest.raises(FilterError, match="no filters given; pass some of layer 'block2_conv2' \\(0-127\\)"):
        render.filter_list(hed, "block2_conv2", [])
