"""The lake's writer: batches, file numbers, partition folders, atomic publish."""

import gzip

import pytest

from factories import T0, at, stream
from shoot2top import codec
from shoot2top.lake.layout import MAX_FILE_NUMBER, WriterFolder
from shoot2top.lake.reader import decode_batch
from shoot2top.lake.store import FileExists, LocalStore
from shoot2top.lake.writer import LakeWriter, encode_batch

ITEMS = [codec.dumps(item) for item in stream(5)]


def test_a_batch_file_is_a_json_array_the_reader_decodes():
    for compress in (False, True):
        data = encode_batch(ITEMS, compress=compress)
        assert decode_batch(data) == (stream(5), None)
        assert (data[:2] == b"\x1f\x8b") is compress
    assert encode_batch(ITEMS, compress=True) == encode_batch(ITEMS, compress=True)  # no mtime
    assert gzip.decompress(encode_batch(ITEMS, compress=True)) == encode_batch(ITEMS)


def test_batches_close_by_count_or_size_and_files_are_numbered(tmp_path):
    store = LocalStore(tmp_path)
    writer = LakeWriter(store, batch_items=3, batch_bytes=10**6)
    writer.rotate(at(5).timestamp())
    assert [writer.add(item) for item in ITEMS[:3]] == [False, False, True]
    writer.publish()
    assert writer.add(ITEMS[3]) is False
    writer.publish()
    writer.publish()  # nothing open: no empty file
    (folder,) = store.list_folders()
    assert WriterFolder.parse(folder).start == T0
    assert [f.name for f in store.list_files(folder)] == ["0000000", "0000001"]
    assert (writer.files_written, writer.next_number) == (2, 2)
    by_size = LakeWriter(store, batch_items=100, batch_bytes=len(ITEMS[0]) + 1)
    assert by_size.add(ITEMS[0]) is True  # one item and its separator fill it


def test_a_rotation_starts_a_new_folder_at_the_boundary(tmp_path):
    writer = LakeWriter(LocalStore(tmp_path), rotation="hour")
    writer.rotate(at(55).timestamp())
    first = writer.folder
    assert writer.rotate_at == at(60).timestamp()
    writer.rotate(at(65).timestamp())
    assert writer.folder is not None and first is not None
    assert (first.start, writer.folder.start) == (T0, at(60))
    assert first.writer_id != writer.folder.writer_id


def test_a_writer_out_of_file_numbers_continues_in_a_fresh_folder(tmp_path):
    store = LocalStore(tmp_path)
    writer = LakeWriter(store)
    writer.rotate(T0.timestamp())
    writer.next_number = MAX_FILE_NUMBER + 1
    writer.add(ITEMS[0])
    writer.publish()
    (folder,) = store.list_folders()
    assert [f.name for f in store.list_files(folder)] == ["0000000"]


def test_a_retried_publish_that_had_landed_is_fine_but_other_bytes_are_refused(tmp_path):
    store = LocalStore(tmp_path)
    writer = LakeWriter(store, new_writer_id=lambda: "00000000-0000-4000-8000-000000000000")
    writer.rotate(T0.timestamp())
    assert writer.folder is not None
    store.create(writer.folder.name, "0000000", encode_batch(ITEMS[:2]))  # the first attempt
    writer.add(ITEMS[0])
    writer.add(ITEMS[1])
    writer.publish()
    assert writer.files_written == 1 and writer.batch == []
    store.create(writer.folder.name, "0000001", b"[]")
    writer.add(ITEMS[2])
    with pytest.raises(FileExists, match="0000001 already exists"):
        writer.publish()
    assert writer.batch == [ITEMS[2]]  # kept: nothing is lost


def test_publishing_before_a_folder_is_open_is_a_clear_error(tmp_path):
    writer = LakeWriter(LocalStore(tmp_path))
    writer.add(ITEMS[0])
    with pytest.raises(ValueError, match="only after `rotate`"):
        writer.publish()


def test_bad_settings_name_the_sink():
    with pytest.raises(ValueError, match="lake sink 'x': rotation 'week' is not hour or day"):
        LakeWriter(LocalStore("/nonexistent"), rotation="week", name="x")


@pytest.mark.parametrize(("batch_items", "batch_bytes"), [(3, 10**6), (100, 700), (4, 600)])
def test_adding_many_closes_batches_where_adding_one_by_one_does(
    tmp_path, batch_items, batch_bytes
):
    encoded = [codec.dumps(item) for item in stream(17)]
    one_by_one = LakeWriter(LocalStore(tmp_path), batch_items=batch_items, batch_bytes=batch_bytes)
    cuts = []
    for number, item in enumerate(encoded, 1):
        if one_by_one.add(item):
            cuts.append(number)
            one_by_one.batch, one_by_one.batch_size = [], 0
    many = LakeWriter(LocalStore(tmp_path), batch_items=batch_items, batch_bytes=batch_bytes)
    done, got = 0, []
    while done < len(encoded):
        taken, full = many.add_many(encoded, done)
        done += taken
        if full:
            got.append(done)
            many.batch, many.batch_size = [], 0
    assert got == cuts and len(cuts) >= 3
    assert many.batch == encoded[cuts[-1] :] == one_by_one.batch
