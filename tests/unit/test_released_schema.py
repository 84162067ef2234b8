"""A schema file a release has applied is never edited: a warehouse it made records the file's checksum,
and migrate refuses a file whose checksum changed. Changes go in a new numbered file (155 moved release
0.2's tables to the new layout). The checksums below are those release 0.2.0 recorded."""

from sparkify_dwh import sqlfiles

RELEASED = {  # (number, dialect) -> checksum, release 0.2.0
    (10, "postgres"): "ad9f08c8521ca1ea3cab6f79a8ba5b6c40ac58ab38d70859ccb98bb21715c23b",
    (20, "postgres"): "b1b50d7799412231b2396feea14bbf61fa34981f529012828acba13fb956c15f",
    (30, "postgres"): "484df90a340ca753c5896c08cabfcdfb099b91a9c4d2ab681a3658f42092c64d",
    (40, "postgres"): "8488261fdd9d750a85a0abaedefc8411d46ce499eedb3503d4efde3a811fcf15",
    (50, "postgres"): "ae739326a346c8982be25b4cb6d0b82dadede0faf2e3251feae9565d6f95424a",
    (110, "postgres"): "f311464c5965c35729b1b4d15953c735beef8d56b98fd0dc22d16f95f80f165b",
    (120, "postgres"): "efa724223a7136251654ff23bb2b1555d4ca142bdfdae3307342b50047deb536",
    (130, "postgres"): "8c0241f343d4a03c1d4587ee55bd1150f2109d1a198a0d7d5401636f92f03873",
    (140, "postgres"): "8b81f4381333dfb44006dc2ef21653fbf716e0ec949a4bed067373890b90a836",
    (150, "postgres"): "f18e4f5eec7538e7fe627d06b59f0f6a09543686fee0c79ee1a84effbf8b5073",
    (10, "redshift"): "be4a242b797332db1ddf85157da2b955fe49270891ab99df577d65c05eb941dd",
    (20, "redshift"): "c80d6db31da262618273adbfbc6d45e6b524087549138b4fb63851c59797bf6e",
    (30, "redshift"): "f20e1cf1e6bcfd434035ca43c79bf1dee9106512ab74baec546333bf180e30bc",
    (40, "redshift"): "9e7db91d6d1588b4e360012b50c75625ed45dc1c12356a7627d070f7dcc799c3",
    (50, "redshift"): "ae739326a346c8982be25b4cb6d0b82dadede0faf2e3251feae9565d6f95424a",
    (110, "redshift"): "8b081d119f9c10e19cf85c1699b8b50351ba6dec94ce6d6359c4a4db8e7ceb71",
    (120, "redshift"): "374613e28d18dd604bc988d13d6dcbfd2e20ee8139c11c01ead911b2322fb9cf",
    (130, "redshift"): "2016a1b06a2992c469a8bc5b98e86be84863e23b7ee466de2c17fb72db9ccf55",
    (140, "redshift"): "19f5caf3730f97c1a4d644e652b327420b20ac30ee50d788e276dbf63226e289",
    (150, "redshift"): "b8b147c0ef5348182d2eb89ba7d5571f96085930a04f9a42042c96914193192f",
}


def test_the_schema_files_release_0_2_applied_are_as_it_applied_them():
    for dialect in sqlfiles.DIALECTS:
        files = {f.number: f for f in sqlfiles.files("schema", dialect)}
        for (number, which), checksum in RELEASED.items():
            if which == dialect:
                assert number in files, f"{number:03d} of release 0.2.0 is gone"
                assert files[number].checksum == checksum, (
                    f"{files[number].path.name} ({dialect}) differs from what release 0.2.0 applied: "
                    "restore it and put the change in a new numbered file")


def test_the_files_after_release_0_2_never_make_its_rows_unlogged_again():
    # 0.2's staging, ledger and rejects were unlogged; 240 makes them logged. A file between them that made
    # them unlogged again (155 copies them) would open a window where a crash empties staging, the rows of
    # files gone from the source included
    for f in sqlfiles.files("schema", "postgres"):
        if f.number > 150:
            for table in ("staging_events", "staging_songs", "load_files", "load_errors"):
                assert f"ALTER TABLE {table} SET UNLOGGED" not in f.text, f.path.name
