"""The Python binding end to end: every method of Database, Result and Job, every exception type, NumPy
round trips, threads, Ctrl-C during training, read-only copies, and the README's tour as written."""

import _thread
import pathlib
import re
import signal
import threading
import time
import tracemalloc

import numpy as np
import pytest

import recodb


def clustered(users=300, items=120, per_user=15, clusters=4, seed=7):
    """Users in taste clusters over items: (user array, item array)."""
    rng = np.random.default_rng(seed)
    us, its = [], []
    span = items // clusters
    for u in range(users):
        c = u % clusters
        own = rng.choice(span, size=per_user, replace=False) + c * span
        us.extend([u] * per_user)
        its.extend(own.tolist())
    return np.array(us, dtype=np.int64), np.array(its, dtype=np.int64)


@pytest.fixture
def db():
    with recodb.connect() as database:
        users, items = clustered()
        database.insert_interactions(users, items)
        yield database


def test_connect_close_and_reopen(tmp_path):
    path = tmp_path / "db"
    with recodb.connect(str(path)) as db:
        assert db.path == str(path) and not db.read_only
        db.execute("INSERT INTERACTION user 1 item 'a'; INSERT INTERACTION user 'ann' item 'a';")
    with pytest.raises(recodb.Error, match="closed"):
        db.query("SHOW USERS")
    db.close()  # closing twice is harmless
    again = recodb.connect(str(path))
    assert again.stats()["interactions"] == 2, "the data survived closing"
    assert repr(again).startswith("<recodb.Database ")
    again.close()
    assert "closed" in repr(again)


def test_keys_and_parameters_are_values_never_text(db):
    sneaky = "x'); DELETE USER 1; --"
    db.query("INSERT INTERACTION user ? item ? WEIGHT ? AT ?", [5000, sneaky, 2.5, 1700000000])
    db.query("INSERT INTERACTION user ? item ?", ["emma", sneaky])
    rows = db.query("SHOW ITEMS LIMIT 1000").to_dicts()
    assert {"item": sneaky, "interactions": 2, "tags": ()} in rows, "the odd key is just a key"
    users = db.query("SHOW USERS LIMIT 1000")
    keys = users.to_numpy()["user"]
    assert keys.dtype == object and 5000 in keys.tolist() and "emma" in keys.tolist()
    assert isinstance(users[0][0], int), "integer keys come back as ints"
    assert db.query("DESCRIBE USER ?", ["emma"])[0] == ("key", "emma"), "string keys come back bare"
    assert db.query("SHOW USERS LIMIT ?", [np.int64(2)]).__len__() == 2, "NumPy scalars bind as ints"
    with pytest.raises(TypeError):
        db.query("SHOW USERS LIMIT ?", [object()])


def test_results_as_tuples_dicts_and_arrays(db):
    db.train("pop", progress=False)
    result = db.query("RECOMMEND user 0 TOP 3 USING pop")
    assert result.columns == ["rank", "item", "score"]
    rows = list(result)
    assert len(rows) == len(result) == 3 and rows == result.fetchall()
    assert [r[0] for r in rows] == [1, 2, 3] and result[-1] == rows[-1]
    with pytest.raises(IndexError):
        result[3]
    assert result.to_dicts()[0].keys() == {"rank", "item", "score"}
    arrays = result.to_numpy()
    assert arrays["rank"].dtype == np.int64 and arrays["item"].dtype == np.int64
    assert arrays["score"].dtype == np.float64
    assert arrays["item"].tolist() == [r[1] for r in rows]
    jobs = db.query("SHOW JOBS").to_numpy()
    assert jobs["message"].dtype == object and jobs["message"][0] is None, "NULL text is None"
    assert np.isnan(jobs["progress"][0]), "NULL numbers are NaN"


def test_notices_say_where_an_answer_could_mislead(db):
    db.train("pop", progress=False)
    assert db.query("RECOMMEND user 0 TOP 3 USING pop").notices == []
    assert db.query("RECOMMEND user 0 TOP 3").notices == [
        "answered by model 'pop' (pop), the most recently trained; USING name picks another"
    ]
    db.query("ADD USER 'newcomer'")
    cold = db.query("RECOMMEND user 'newcomer' TOP 3 USING pop")
    assert len(cold) == 3 and "no training interactions" in cold.notices[0]


def test_a_large_result_becomes_arrays_without_python_objects_per_row():
    # 100,000 rows keep the suite fast; BENCHMARKS.md has the same check at a million rows.
    n = 100_000
    big = recodb.connect()
    big.insert_interactions(np.arange(n) % 97, np.arange(n))
    items = big.query("SHOW ITEMS LIMIT ?", [n])
    tracemalloc.start()
    arrays = items.to_numpy()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert arrays["item"].dtype == np.int64 and len(arrays["item"]) == n
    assert arrays["interactions"].sum() == n
    # A Python int or tuple per row would take at least 28 bytes a row; the arrays' own buffers are
    # allocated by Rust and handed over, so Python's allocator sees next to nothing.
    assert peak < n * 8, f"to_numpy allocated {peak} bytes of Python objects for {n} rows"


def test_pandas_round_trip():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    frame = pd.DataFrame({"user": [1, 1, 2], "item": [10, 11, 10], "rating": [4.0, 5.0, 3.0]})
    db = recodb.connect()
    db.insert_interactions(frame["user"].to_numpy(), frame["item"].to_numpy(), frame["rating"].to_numpy())
    out = db.query("SHOW USERS").df()
    assert list(out.columns) == ["user", "interactions", "tags"] and out["interactions"].tolist() == [2, 1]


def test_bulk_inserts_and_entities(db):
    before = db.stats()
    done = db.insert_interactions(
        np.array([900, 900, 901]), ["x", "y", "x"], weights=np.array([1.0, 2.0, 3.0]), times=[1, 2, 3]
    )
    assert done == {"records": 3, "new_users": 2, "new_items": 2, "new_interactions": 3, "new_tags": 0}
    assert db.stats()["interactions"] == before["interactions"] + 3
    with pytest.raises(recodb.InvalidArgument) as caught:
        db.insert_interactions([1, 2], [3])
    assert caught.value.kind == "invalid_argument" and caught.value.line is None
    with pytest.raises(recodb.InvalidArgument):
        db.insert_interactions([1], [2], weights=[float("nan")])
    with pytest.raises(ValueError):
        db.insert_interactions(np.array([-1]), np.array([2]))
    added = db.add_items([0, 1, "new"], tags=["genre:a", ["genre:a", "genre:b"], None])
    assert (added["new_items"], added["new_tags"]) == (1, 3)
    assert db.add_users([0, "z"])["new_users"] == 1
    with pytest.raises(ValueError):
        db.add_items([1, 2], tags=["one"])
    tags = db.query("SHOW TAGS").to_dicts()
    assert {"side": "item", "tag": "genre:a", "entities": 2} in tags
    db.check_integrity()


def test_batch_recommend_equals_recommend_user_by_user(db):
    db.add_items(list(range(120)), tags=[f"cluster:{i // 30}" for i in range(120)])
    db.train("ease", progress=False, **{"lambda": 10.0})
    users = np.array([0, 5, 17, 299, 12345])
    for kwargs in [{}, {"filter": "TAG = 'cluster:1' OR ITEM IN (0, 1)"}, {"exclude_seen": False}]:
        items, scores = db.recommend("ease", users, k=6, **kwargs)
        assert items.shape == scores.shape == (5, 6) and items.dtype == np.int64
        for row, user in enumerate(users.tolist()):
            where = f" WHERE {kwargs['filter']}" if "filter" in kwargs else ""
            seen = " INCLUDE SEEN" if kwargs.get("exclude_seen") is False else ""
            one = db.query(f"RECOMMEND user ? TOP 6 USING ease{where}{seen}", [user]) if user < 300 else None
            if one is None:
                assert (items[row] == -1).all() and np.isnan(scores[row]).all(), "an unknown user: an empty row"
                continue
            assert items[row].tolist() == [r[1] for r in one]
            assert np.allclose(scores[row], [r[2] for r in one])
    db.insert_interactions(["ann"], ["a-string-item"])
    db.train("pop", progress=False)
    items, _ = db.recommend("pop", ["ann"], k=121, exclude_seen=False)
    assert items.dtype == object and "a-string-item" in items[0].tolist(), "a string key makes an object array"
    with pytest.raises(recodb.NotFound) as caught:
        db.recommend("eas", [1])
    assert caught.value.suggestion == "ease" and caught.value.what == "model"
    with pytest.raises(recodb.ParseError):
        db.recommend("ease", [1], filter="TAG = ")


def test_train_reports_progress_and_binds_parameters(db):
    phases = []
    result = db._train("als", name="My ALS", params={"factors": 8, "iterations": 2}, progress=lambda *p: phases.append(p))
    assert result.to_dicts()[0]["model"] == "My ALS", "quoted names keep their case"
    assert any(p[0].startswith("train als") for p in phases) and phases[-1][0] == "publish"
    described = dict(db.query('DESCRIBE MODEL "My ALS"').fetchall())
    assert "factors = 8" in described["parameters"]
    with pytest.raises(recodb.InvalidArgument) as caught:
        db.train("als", factors=0)
    assert "factors must be an integer from 1 to 1024, got 0" in str(caught.value)
    with pytest.raises(recodb.NotFound) as caught:
        db.train("als", factorz=8)
    assert caught.value.suggestion == "factors"
    with pytest.raises(recodb.NotFound) as caught:
        db.train("eas")
    assert caught.value.suggestion == "ease"


def test_ctrl_c_cancels_training_which_publishes_nothing(db):
    many_users, many_items = clustered(users=3000, items=4000, per_user=40, clusters=8)
    db.insert_interactions(many_users + 10_000, many_items + 10_000)
    # Ctrl-C as in an interactive session: Python's own SIGINT handler, even when the tests were
    # started in the background, where SIGINT is ignored and interrupt_main() would do nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            db.train("als", factors=64, iterations=1000)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    jobs = db.query("SHOW JOBS LIMIT 1").to_dicts()
    assert jobs[0]["state"] == "cancelled"
    assert len(db.query("SHOW MODELS")) == 0


def test_background_jobs(db):
    job = db.train("als", name="bg", background=True, factors=8, iterations=3)
    assert isinstance(job, recodb.Job) and job.id >= 1 and repr(job) == f"<recodb.Job {job.id}>"
    assert job.progress()["model"] == "bg"
    done = job.wait().to_dicts()[0]
    assert (done["state"], done["version"]) == ("done", 1)
    with pytest.raises(recodb.Conflict):
        job.cancel()
    slow = db.train("als", name="slow", background=True, factors=64, iterations=1000)
    assert slow.cancel().to_dicts()[0]["state"] == "cancelled"
    with pytest.raises(recodb.Cancelled):
        slow.wait()


def test_ctrl_c_stops_waiting_for_a_job_which_runs_on(db):
    reports = []
    slow = db.train("als", name="slow", background=True, factors=64, iterations=1000)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            slow.wait(progress=lambda phase, done, total: reports.append((phase, done, total)))
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert reports and all(total > 0 for _, _, total in reports)
    assert slow.progress()["state"] == "running"
    assert slow.cancel().to_dicts()[0]["state"] == "cancelled"


def test_tags_come_back_as_tuples(db):
    db.query("ADD ITEM 7 TAGS ('genre:Drama', 'year:1995')")
    row = db.query("SHOW ITEMS WHERE TAG = 'genre:Drama'").to_dicts()[0]
    assert row["tags"] == ("genre:Drama", "year:1995")
    db.train("pop", progress=False)
    shown = db.query("RECOMMEND user 1 TOP 50 USING pop WHERE TAG = 'year:1995' WITH (tags = 'year:')")
    assert shown.to_dicts() and all(r["tags"] == ("year:1995",) for r in shown.to_dicts())


def test_a_failed_job_is_job_failed():
    db = recodb.connect()
    db.insert_interactions(np.arange(20_001) % 50, np.arange(20_001))
    job = db.train("ease", background=True)
    with pytest.raises(recodb.JobFailed, match="at most 20000 items"):
        job.wait()


def test_every_exception_type_carries_its_details(db, tmp_path):
    with pytest.raises(recodb.ParseError) as caught:
        db.execute("SHOW USERS;\nRECOMMEND user 1 TOPP 10;")
    e = caught.value
    assert (e.kind, e.line, e.column, e.length) == ("parse", 2, 18, 4)
    assert str(e) == "line 2, column 18: expected TOP, found 'TOPP'"
    assert isinstance(e, recodb.Error)
    with pytest.raises(recodb.NotFound) as caught:
        db.query("RECOMMEND user 'nobody' TOP 3")
    assert (caught.value.what, caught.value.column) == ("user", 16)
    with pytest.raises(recodb.InvalidArgument):
        db.query("RECOMMEND user 1 TOP 100000")
    db.train("pop", progress=False)
    with pytest.raises(recodb.Unsupported):
        db.query("EXPLAIN RECOMMEND user 1 TOP 3 USING pop")
    with pytest.raises(recodb.Conflict):
        db.query("EVALUATE pop")
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t2\n3\n")
    with pytest.raises(recodb.FileError) as caught:
        db.query("IMPORT INTERACTIONS FROM ?", [str(bad)])
    assert (caught.value.path, caught.value.file_line) == (str(bad), 2)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(recodb.StorageError):
        recodb.connect(str(notes))


def test_read_only_copies(tmp_path):
    path = str(tmp_path / "db")
    with recodb.connect(path) as db:
        db.execute("INSERT INTERACTION user 1 item 2; INSERT INTERACTION user 3 item 2; INSERT INTERACTION user 3 item 4; TRAIN pop;")
    first, second = recodb.connect(path, read_only=True), recodb.connect(path, read_only=True)
    for db in (first, second):
        assert db.read_only
        assert db.recommend("pop", [1], k=1)[0].tolist() == [[4]]
        with pytest.raises(recodb.Conflict, match="read-only"):
            db.query("INSERT INTERACTION user 9 item 9")
        with pytest.raises(recodb.Conflict):
            db.insert_interactions([9], [9])
    first.close()
    second.close()
    with pytest.raises(ValueError):
        recodb.connect(read_only=True)


def test_threads_recommend_while_a_training_runs(db):
    db.train("pop", progress=False)
    job = db.train("als", name="busy", background=True, factors=32, iterations=30)
    errors, served = [], []

    def reader():
        try:
            for u in range(50):
                items, _ = db.recommend("pop", [u % 300], k=5)
                served.append(items.shape)
                db.query("RECOMMEND user ? TOP 3 USING pop", [u % 300])
        except Exception as e:  # noqa: BLE001 - the test reports whatever a thread hit
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(served) == 200
    assert job.wait().to_dicts()[0]["state"] == "done"


@pytest.mark.parametrize("readme", ["python/README.md", "README.md"])
def test_the_readmes_python_runs_as_written(readme, tmp_path, monkeypatch):
    text = (pathlib.Path(__file__).parents[2] / readme).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"{readme} has Python examples"
    monkeypatch.chdir(tmp_path)  # where `connect("mydb")` creates its database
    for block in blocks:
        exec(compile(block, readme, "exec"), {})
