"""ubakit helpers: every computation of the notebook report kit lives in this package.

Where things are computed (one module per concern; see README "Layout"):

========================  =========================================================
``helpers.schema``        canonical tables (events, orders, reviews, users) and time-zone policy
``helpers.params``        campaign YAML schema and validation
``helpers.paths``         project root and the campaign output folders
``helpers.ingest``        raw files -> clean Parquet + quarantine (DuckDB, out of core)
``helpers.quality``       ingest report: rows per reason, daily activity, null rates, findings
``helpers.funnel``        funnel: attempts, steps, breakdown + z-test, trend, time to convert
``helpers.retention``     cohort retention, 次日/七日留存, lifecycle, stickiness
``helpers.journey``       user paths: sessions, transitions, top paths, after funnel drop-out
``helpers.rfm``           RFM table, 1-5 scores, 11 named segments and the Chinese 8-class scheme
``helpers.features``      per-user behaviour features for any window (clustering, profile, churn)
``helpers.clustering``    KMeans/DBSCAN user groups, silhouette, automatic names, radar charts
``helpers.user_profile``  the user profile (画像) table joining every report's per-user results
``helpers.churn``         leakage-safe churn labels, models vs recency baseline, at-risk list
``helpers.sentiment``     jieba + SnowNLP review sentiment (parallel, cached), domain model, keywords
``helpers.engine``        Ibis backend (DuckDB default, PySpark) and clean-table access
``helpers.campaign``      ``open_campaign``: a notebook's entry point
``helpers.plots``         chart theme (CJK font) and generic charts
``helpers.fmt``           number formatting for reports
``helpers.report``        results files, key findings, HTML conversion, index page
``helpers.run``           batch runner (papermill, parallel, up-to-date checks)
``helpers.demo``          deterministic demo data generator with planted effects
``helpers.threads``       one CPU thread for scikit-learn fits on small data (no OpenMP spinning)
========================  =========================================================
"""
from .campaign import Context, batch_mode, open_campaign
from .churn import (build_dataset, churn_findings, churn_headline, churn_labels, cutoffs, run_churn, show_churn)
from .clustering import (choose_k, cluster_profiles, clustering_findings, clustering_headline, fit_clusters,
                         name_clusters, prepare_matrix, run_clustering, show_clustering)
from .demo import generate_demo
from .features import feature_label, user_features
from .engine import connect, read_table
from .fmt import fmt_duration_hours, fmt_int, fmt_money, fmt_num, fmt_pct, style_table
from .funnel import (Step, compare_groups, conversion_trend, funnel_breakdown, funnel_findings, funnel_headline,
                     funnel_table, funnel_tables, funnel_users, parse_window_hours, run_funnel, show_funnel,
                     time_to_convert, wilson_interval)
from .ingest import IngestError, TableReport, detect_encoding, ingest_campaign, ingest_table, transcode_to_utf8
from .journey import (next_after_dropoff, paths_findings, paths_headline, run_paths, sessionize, show_paths, top_paths,
                      transition_counts, transition_matrix)
from .params import Campaign, ParamsError, available_notebooks, load_params
from .paths import campaign_paths, project_root
from .plots import check_chart, plot_bar, plot_heatmap, plot_line, set_theme
from .quality import (key_column, main_table, daily_activity, ingest_findings, ingest_headline, ingest_results, ingest_summary,
                      null_rate_table, null_rates, plot_daily, plot_reasons, quarantine_sample, reason_table,
                      show_quarantine_samples, top_values)
from .report import headline, load_results, notebook_to_html, save_results, show_findings, show_header, write_index
from .retention import (average_curve, cohort_counts, day_n_retention, lifecycle_table, retention_findings,
                        retention_headline, retention_matrix, retention_tables, run_retention, show_retention,
                        stickiness_table)
from .rfm import (CN8, NAMED_RULES, BGNBDFit, RFMResult, bgnbd_expected, bgnbd_holdout_check, bgnbd_inputs,
                  bgnbd_loglik, bgnbd_p_alive, fit_bgnbd, named_rules_table, plot_bgnbd_check, plot_rf_heatmap,
                  plot_segment_bgnbd, plot_segments, rf_heatmap, rfm_findings, rfm_headline, rfm_scores, rfm_table,
                  run_rfm, score_column, segment_cn8, segment_named, segment_summary, show_rfm)
from .schema import TABLES
from .sentiment import (Tokenizer, band, run_sentiment, score_texts, sentiment_findings, sentiment_headline,
                        show_sentiment, text_kind, train_domain_model, user_sentiment)
from .user_profile import (behaviour_tags, export_profile, load_membership, profile_findings, profile_headline,
                           profile_table, run_user_profile, show_profile)

__version__ = "0.1.0"

__all__ = [
    "Tokenizer", "band", "run_sentiment", "score_texts", "sentiment_findings", "sentiment_headline", "show_sentiment",
    "text_kind", "train_domain_model", "user_sentiment",
    "build_dataset", "churn_findings", "churn_headline", "churn_labels", "cutoffs", "run_churn", "show_churn",
    "choose_k", "cluster_profiles", "clustering_findings", "clustering_headline", "fit_clusters", "name_clusters",
    "prepare_matrix", "run_clustering", "show_clustering", "feature_label", "user_features",
    "behaviour_tags", "export_profile", "load_membership", "profile_findings", "profile_headline", "profile_table",
    "run_user_profile", "show_profile",
    "CN8", "NAMED_RULES", "BGNBDFit", "RFMResult", "bgnbd_expected", "bgnbd_holdout_check", "bgnbd_inputs",
    "bgnbd_loglik", "bgnbd_p_alive", "fit_bgnbd", "named_rules_table", "plot_bgnbd_check", "plot_rf_heatmap",
    "plot_segment_bgnbd", "plot_segments", "rf_heatmap",
    "rfm_findings", "rfm_headline", "rfm_scores", "rfm_table", "run_rfm", "score_column", "segment_cn8",
    "segment_named", "segment_summary", "show_rfm",
    "next_after_dropoff", "paths_findings", "paths_headline", "run_paths", "sessionize", "show_paths", "top_paths",
    "transition_counts", "transition_matrix",
    "average_curve", "cohort_counts", "day_n_retention", "lifecycle_table", "retention_findings",
    "retention_headline", "retention_matrix", "retention_tables", "run_retention", "show_retention",
    "stickiness_table",
    "Step", "compare_groups", "conversion_trend", "funnel_breakdown", "funnel_findings", "funnel_headline",
    "funnel_table", "funnel_tables", "funnel_users", "parse_window_hours", "run_funnel", "show_funnel",
    "time_to_convert", "wilson_interval",
    "Campaign", "Context", "IngestError", "ParamsError", "TABLES", "TableReport", "available_notebooks",
    "key_column", "main_table", "batch_mode", "campaign_paths", "check_chart", "connect", "daily_activity", "detect_encoding",
    "fmt_duration_hours", "fmt_int", "fmt_money", "fmt_num", "fmt_pct", "generate_demo", "headline",
    "ingest_campaign", "ingest_findings", "ingest_headline", "ingest_results", "ingest_summary", "ingest_table",
    "load_params", "load_results", "notebook_to_html", "null_rate_table", "null_rates", "open_campaign",
    "plot_bar", "plot_daily", "plot_heatmap", "plot_line", "plot_reasons", "project_root", "quarantine_sample",
    "read_table", "reason_table", "save_results", "set_theme", "show_findings", "show_header",
    "show_quarantine_samples", "style_table", "top_values", "transcode_to_utf8", "write_index",
]
