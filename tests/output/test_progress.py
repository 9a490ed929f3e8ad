from actmax.output import progress


def test_bar_shows_a_pass_in_place_of_the_octave_and_advances_only_as_filters_finish(capsys):
    with progress.bar(label="block1_conv1") as report:
        report(0, 4, 3, 3, 1.5)
        report(0, 4, 3, 3, 1.5, stage="rescue: 2 filters")
        line = capsys.readouterr().err.split("\r")[-1]
        assert "0/4" in line and "rescue: 2 filters, objective 1.5" in line
        report(4, 4, 3, 3, 2.0)
    assert "4/4" in capsys.readouterr().err.split("\r")[-1]


def test_quiet_bar_is_none():
    with progress.bar(quiet=True) as report:
        assert report is None


def test_an_objective_bar_counts_variants(capsys):
    with progress.bar(unit="variant") as report:
        report(2, 4, 1, 3, 0.5)
    assert "variant" in capsys.readouterr().err
