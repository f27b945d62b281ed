"""The feature-build benchmark compares the shipped, batched build with one statement over the
whole spine, and checks that both give the same tables."""

from benchmarks import bench_features


def test_batched_and_one_statement_builds_give_identical_tables(capsys):
    # 1,500 accounts: the channel and pay spines run to tens of thousands of rows, so 3,000-row
    # batches split them in many account partitions
    assert bench_features.main(["--accounts", "1500", "--days", "90", "--batch-rows", "3000"]) == 0
    out = capsys.readouterr().out
    assert "batched (spine rows per batch 3,000)" in out
    assert "one_statement (spine rows per batch 1,000,000,000,000)" in out
    assert "tables identical (rows and checksums): yes" in out


def test_a_differing_table_fails_the_benchmark(monkeypatch, capsys):
    real = bench_features.run_mode

    def tampered(folder, mode, as_of, batch_rows=None):
        result = real(folder, mode, as_of, batch_rows)
        if mode == "batched":
            result["train_channel_response"]["checksum"] = "0"
        return result

    monkeypatch.setattr(bench_features, "run_mode", tampered)
    assert bench_features.main(["--accounts", "300", "--days", "60"]) == 1
    assert "tables identical (rows and checksums): NO" in capsys.readouterr().out
