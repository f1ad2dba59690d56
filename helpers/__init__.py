"""ubakit helpers: every computation of the notebook report kit lives in this package.

The top level holds what an analyst uses: ``open_campaign``, the reports (``run_report``, ``save_report``
and one class per analysis), the compute and plot functions, and number formatting. Everything else stays
in its module (``helpers.ingest``, ``helpers.params``, ...). Names load on first use, so ``import helpers``
is cheap and a notebook pays only for the analyses it runs.

Layers (``docs/architecture.md``; a test forbids imports against them and any import cycle):

1. foundations: ``errors``, ``durations``, ``stats``, ``schema``, ``locations``, ``fmt``, ``threads``
2. configuration: ``sections``, ``params``, ``steps``
3. engine and context: ``engine``, ``campaign``, ``plots``, ``report`` (results files, HTML), ``base``
   (the report contract)
4. analyses, one module each ending in its report class: ``ingest`` + ``quality`` (IngestReport),
   ``funnel``, ``journey`` (user paths), ``retention``, ``rfm`` + ``bgnbd``, ``features``, ``clustering``,
   ``sentiment``, ``churn``, ``user_profile``
5. orchestration: ``registry`` (all reports, run order), ``run`` (batch runner), ``cli``, ``demo``
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

# Ibis 12 reads pandas' deprecated ``future.infer_string`` option on each conversion to pandas, and pandas 3 warns
# every time: noise (the option is pandas 3's default) that reached the products page as 18 lines of stderr
warnings.filterwarnings("ignore", message="The 'future.infer_string' option is deprecated", category=DeprecationWarning)

__version__ = "0.2.0"

#: module -> the public names it defines (space-separated)
_MODULES = {
    "campaign": "open_campaign Context batch_mode",
    "registry": "REPORTS all_reports get_report run_report save_report",
    "base": "Report Unavailable report_table",
    "errors": "UbakitError ParamsError MissingColumnError MissingTableError UnknownPartError UnknownReportError "
    "StaleResultsError",
    "run": "run_campaign",
    "demo": "generate_demo",
    "durations": "parse_window_hours",
    "stats": "wilson_interval two_proportion_test",
    "steps": "Step",
    "fmt": "fmt_duration_hours fmt_int fmt_money fmt_num fmt_pct style_table",
    "plots": "set_theme plot_bar plot_line plot_heatmap",
    # analyses: report class, compute functions, plot functions
    "quality": "IngestReport",
    "ingest": "ingest_campaign",
    "attempts": "FunnelUsers funnel_users funnel_attempts",
    "funnel": "FunnelReport funnel_table funnel_breakdown compare_groups conversion_trend time_to_convert "
    "plot_funnel plot_breakdown plot_trend plot_time_to_convert",
    "journey": "PathsReport sessionize transition_counts transition_matrix top_paths next_after_dropoff "
    "plot_transitions",
    "retention": "RetentionReport cohort_counts retention_matrix average_curve day_n_retention lifecycle_table "
    "stickiness_table plot_retention_heatmap plot_retention_curve plot_lifecycle plot_stickiness",
    "rfm": "RFMReport RFMTable RFMScores rfm_table rfm_scores",
    "rfm_segments": "segment_named segment_cn8 segment_summary rf_heatmap plot_segments plot_rf_heatmap",
    "bgnbd": "fit_bgnbd bgnbd_p_alive bgnbd_expected bgnbd_holdout_check",
    "clv": "compute_clv customer_history model_inputs holdout_comparison discounted_clv",
    "clv_models": "fit_model fit_gamma_gamma p_alive expected_purchases gg_expected_spend",
    "features": "user_features feature_label",
    "clustering": "ClusteringReport prepare_matrix choose_k fit_clusters cluster_profiles name_clusters "
    "plot_k_selection plot_radar plot_projection",
    "sentiment": "SentimentReport Tokenizer score_texts keywords train_domain_model",
    "churn": "ChurnReport churn_labels build_dataset plot_roc_pr plot_lift plot_calibration plot_importance",
    "user_profile": "ProfileReport profile_table",
    "tags": "apply_tags evaluate_tags tag_values",
    "tracking": "TrackingPlan load_plan display_name display_names",
    "data_quality": "DataQualityReport volume_anomalies plan_coverage property_daily plot_volume plot_fill",
    "trends": "TrendsReport trend_series compare_windows breakdown_windows biggest_movers plot_metric_trend",
    "anomaly": "detect_anomalies",
    "distribution": "frequency_distribution interval_table",
    "products": "ProductsReport product_table repurchase_table product_movers basket_rules plot_top_products "
    "plot_rules",
    "basket": "basket_items pair_counts pair_rules frequent_itemsets itemset_rules bought_together",
    "attribution": "AttributionReport build_journeys credit_table plot_credits run_attribution",
    "experiment": "ExperimentReport compare_variants srm_table sequential_table power_table plot_sequential "
    "run_experiment",
    "impact": "ImpactReport daily_metrics impact_series plot_impact plot_did",
}
#: public name -> module that defines it
_EXPORTS: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names.split()}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(
            f"module 'helpers' has no attribute {name!r}; its public names are listed in "
            f"helpers.__all__, everything else is in its module (helpers.<module>)"
        )
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # static analysers see the names eagerly
    from .base import Report, Unavailable, report_table  # noqa: F401
    from .campaign import Context, batch_mode, open_campaign  # noqa: F401
    from .registry import REPORTS, get_report, run_report, save_report  # noqa: F401
