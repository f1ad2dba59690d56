"""The user profile join on small frames, with and without the other reports' files."""
import pandas as pd

from helpers.user_profile import behaviour_tags, load_membership, preferred_values, profile_table

FEATS = pd.DataFrame({"user_id": ["a", "b", "c"], "n_events": [10, 3, 50], "active_days": [2, 1, 9],
                      "recency_days": [1.0, 5.0, 0.5], "n_orders": [1, 0, 4], "spend": [10.0, 0.0, 99.0],
                      "preferred_hour": [9, 21, 3]})
EV = pd.DataFrame({"user_id": ["a", "a", "a", "b", "c"], "category": ["x", "y", "y", "z", None],
                   "amount": [10.0, 30.0, None, 5.0, 100.0]})


def test_tags():
    t = behaviour_tags(FEATS).set_index("user_id")
    assert t.loc["a", "activity_level"] == "中活跃 medium" and t.loc["c", "activity_level"] == "高活跃 high"
    assert t.loc["b", "activity_level"] == "低活跃 low"
    assert t["active_hours"].tolist() == ["上午 morning", "晚上 evening", "凌晨 night"]
    assert t["buyer"].tolist() == [True, False, True]


def test_preferred_values_ties_to_smallest_and_median_price():
    p = preferred_values(EV, column="category").set_index("user_id")
    assert p.loc["a", "preferred_category"] == "y" and p.loc["b", "preferred_category"] == "z"
    assert pd.isna(p.loc["c", "preferred_category"]) and p.loc["a", "median_price"] == 20.0


def test_join_with_and_without_sources(tmp_path):
    pd.DataFrame({"user_id": ["a", "c"], "segment": ["Champions", "Lost"], "rfm_code": ["555", "111"],
                  "recency_days": [1, 2]}).to_csv(tmp_path / "rfm_membership.csv", index=False, encoding="utf-8-sig")
    mem = {"rfm": load_membership(tmp_path, "rfm"), "churn": load_membership(tmp_path, "churn")}
    assert mem["churn"] is None
    users = pd.DataFrame({"user_id": ["a", "b"], "city": ["北京", "上海"]})
    t = profile_table(FEATS, users=users, preferred=preferred_values(EV, column="category"), memberships=mem)
    t = t.set_index("user_id")
    assert t.loc["a", "rfm_segment"] == "Champions" and pd.isna(t.loc["b", "rfm_segment"])
    assert t.loc["b", "city"] == "上海" and pd.isna(t.loc["c", "city"])
    assert "churn_probability" in t and t["churn_probability"].isna().all()
    assert t.loc["c", "price_band"] == "高价位 high"
    assert len(t) == 3
