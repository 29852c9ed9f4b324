import numpy as np
import pandas as pd
import pytest

from microseg.errors import InputError
from microseg.measure import measure, write_measurements_csv


def test_csv_round_trip_is_exact(make_labels, tmp_path):
    labels = make_labels(7, (50, 60), 12)
    image = np.random.default_rng(7).random((2, 50, 60))
    table = measure(labels, image, spacing=(0.3, 0.7))
    path = write_measurements_csv(tmp_path / "out" / "cells.csv", table)
    assert [p.name for p in path.parent.iterdir()] == ["cells.csv"]  # no temporary left behind
    read = pd.read_csv(path)
    assert list(read.columns) == list(table)
    for name, values in table.items():
        assert read[name].dtype.kind == values.dtype.kind, name
        np.testing.assert_array_equal(read[name].to_numpy(), values, err_msg=name)


def test_empty_table_writes_only_the_header(tmp_path):
    table = measure(np.zeros((4, 4), np.uint8))
    path = write_measurements_csv(tmp_path / "empty.csv", table)
    assert path.read_text().strip().split(",") == list(table)


@pytest.mark.parametrize("table", [{}, {"a": np.zeros(3), "b": np.zeros(2)},
                                   {"a": np.zeros((2, 2))}])
def test_malformed_table_is_rejected_and_nothing_written(tmp_path, table):
    with pytest.raises(InputError, match="bad.csv"):
        write_measurements_csv(tmp_path / "bad.csv", table)
    assert list(tmp_path.iterdir()) == []
