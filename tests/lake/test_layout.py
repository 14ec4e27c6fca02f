from datetime import UTC, datetime

import pytest

from shoot2top.lake.layout import (
    LayoutError,
    WriterFolder,
    file_name,
    file_number,
    matches,
    partition_start,
)

UUID = "afa5ac3a-e695-4f96-aca2-d24c7527aed7"


def test_folder_names_follow_the_original_design():
    folder = WriterFolder.parse(f"2015-12-18T00:00:00-{UUID}")
    assert folder.start == datetime(2015, 12, 18, tzinfo=UTC)
    assert folder.writer_id == UUID
    assert folder.name == f"2015-12-18T00:00:00-{UUID}"
    assert len(WriterFolder.new(folder.start).writer_id) == 36


@pytest.mark.parametrize(
    "name",
    ["2015-12-18T00:00:00", f"2015-12-18 00:00:00-{UUID}", f"x2015-12-18T00:00:00-{UUID}", "tmp"],
)
def test_other_names_are_not_partition_folders(name):
    with pytest.raises(LayoutError, match="is not a partition folder name"):
        WriterFolder.parse(name)


def test_files_are_seven_digit_numbers():
    assert file_name(0) == "0000000" and file_name(1234) == "0001234"
    assert file_number("0000002") == 2
    assert file_number(".0000002.99.tmp") is None and file_number("index") is None
    with pytest.raises(LayoutError, match="outside"):
        file_name(10**7)


def test_partitions_start_at_the_rotation_boundary():
    moment = datetime(2015, 12, 18, 13, 47, 12, 5, tzinfo=UTC)
    assert partition_start(moment, "hour") == datetime(2015, 12, 18, 13, tzinfo=UTC)
    assert partition_start(moment, "day") == datetime(2015, 12, 18, tzinfo=UTC)
    with pytest.raises(LayoutError, match="rotation 'week'"):
        partition_start(moment, "week")


def test_a_glob_selects_one_partition_across_writers():
    folder = WriterFolder.parse(f"2015-12-18T00:00:00-{UUID}")
    assert matches(folder, "2015-12-18T00:00:00-*")
    assert not matches(folder, "2015-12-18T01:00:00-*")
    assert matches(folder, None)
