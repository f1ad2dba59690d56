def test_drop_empty_leaves_out_columns_without_any_value():
    import pandas as pd

    from helpers.fmt import drop_empty

    df = pd.DataFrame({"a": [1.0, None], "b": [None, None], "c": [None, None], "d": ["x", "y"]})
    assert list(drop_empty(df, ["a", "b", "zzz"]).columns) == ["a", "c", "d"]  # only the listed, empty ones
    assert drop_empty(df, ["a"]) is df
    assert list(drop_empty(df.iloc[0:0], ["a"]).columns) == ["b", "c", "d"]  # no rows: nothing to show in it
