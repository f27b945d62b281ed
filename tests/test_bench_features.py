"""The feature-build benchmark compares the shipped, batched build with one statement over the
whole spine, and checks that both give the same tables."""

from benchmarks import bench_features


def test_batched_and_one_statement_builds_give_identical_tables(capsys):
    # 1,500 accounts: the channel and pay spines run to tens of thousands of rows, so 3,000-row
    # batches split them in many account partitions
    assert bench_features.main(["--accounts", "1500", "--days", "90", "--batch-rows", "3000", "--train"]) == 0
    out = capsys.readouterr().out
    assert "batched (spine rows per batch 3,000)" in out
    assert "one_statement (spine rows per batch 1,000,000,000,000)" in out
    assert "tables identical (rows and checksums): yes" in out
    # --train: the three models are trained and registered on the batched tables (only there)
    for name in ("recobro_promise_kept/1", "recobro_pay_propensity/1", "recobro_channel_response/1"):
        assert out.count(name) == 1
    assert out.count("recobro train (training sets") == 1


def test_a_differing_table_fails_the_benchmark(monkeypatch, capsys):
    real = bench_features.run_mode

    def tampered(folder, mode, as_of, batch_rows=None, train=False):
        result = real(folder, mode, as_of, batch_rows, train)
        if mode == "batched":
            result["train_channel_response"]["checksum"] = "0"
        return result

    monkeypatch.setattr(bench_features, "run_mode", tampered)
    assert bench_features.main(["--accounts", "300", "--days", "60"]) == 1
    assert "tables identical (rows and checksums): NO" in capsys.readouterr().out


def test_make_bench_runs_every_issue_size_and_quick_runs_each_benchmark_once(monkeypatch):
    import importlib

    runner = importlib.import_module("benchmarks.__main__")
    calls = []
    monkeypatch.setattr(runner, "run", lambda name, args: calls.append((name, args)) or 0)
    assert runner.main([]) == 0
    assert ("features", ["--accounts", "1000000", "--modes", "batched", "--train"]) in calls
    assert calls == [(n, a) for n in runner.available() for a in runner.ISSUE_SIZES.get(n, [[]])]
    calls.clear()
    assert runner.main(["--quick"]) == 0
    assert calls == [(n, []) for n in runner.available()]
