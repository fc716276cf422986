#!/usr/bin/env python3
"""Writes docs/kibana/index_templates.json (and its copy websight-connectors/data/, which the
search connector installs) and docs/kibana/saved_objects.ndjson: strict index templates of
websight's documents, and Kibana 8 saved objects recreating the original system's dashboards
over them.

  python3 scripts/kibana_objects.py            # rewrites the files (standard library only)

Objects: one data view (index pattern) per index, the visualisations "Sentiment per
category", "Payment methods", "Abandoned carts", "Potential customers", "KPI totals" and
"Purchases over time", "Sessions per channel", and the dashboard "websight — shop overview" holding them.
`tests/kibana.rs` checks that every field these objects name exists in the mappings.
"""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "kibana", "saved_objects.ndjson")
TEMPLATE_FILES = [os.path.join(ROOT, "docs", "kibana", "index_templates.json"),
                  os.path.join(ROOT, "websight-connectors", "data", "index_templates.json")]

# Field → type of every field of websight_core::analytics documents (strict: nothing else).
TEXT = {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 512}}}
TIME_FIELDS = {"hour_of_day": "integer", "day_of_week": "keyword", "is_weekend": "boolean",
               "month": "integer", "week_of_year": "integer", "part_of_day": "keyword"}
PRODUCT_DETAIL = {
    "session_id": "keyword", "visitor": "keyword", "timestamp": "date", "product_id": "keyword",
    "product_name": "keyword", "product_price": "double", "product_category": "keyword",
    "product_review": TEXT, "time_spent_on_page": "double", "step": "keyword",
    "purchase_made": "boolean",
}
FIELDS = {
    "session_summary": {
        "session_id": "keyword", "visitor": "keyword", "timestamp": "date",
        "session_duration": "double", "page_views": "integer", "events": "integer",
        "source": "keyword", "medium": "keyword", "campaign": "keyword", "channel": "keyword",
        "device_type": "keyword", "os": "keyword", "browser": "keyword",
        "landing_page": "keyword", "exit_page": "keyword", "step": "keyword",
        "purchase_made": "boolean", "orders": "integer", "amount_spent": "double",
        "currency": "keyword", "payment_method": "keyword", "engaged": "boolean", **TIME_FIELDS,
    },
    "product_details": PRODUCT_DETAIL,
    "product_sentiment": {**PRODUCT_DETAIL, "rating": "double", "compound": "double",
                          "sentiment": "keyword"},
    "kpi_windows": {
        "window_start": "date", "window_end": "date", "sessions": "long", "purchases": "long",
        "revenue": "double", "avg_session_duration": "double", "current_visitors": "long",
        "bounce_rate": "double", "engaged_sessions": "long", "page_views": "long",
    },
}


def templates():
    out = {}
    for index, fields in FIELDS.items():
        props = {k: (v if isinstance(v, dict) else {"type": v}) for k, v in fields.items()}
        out[index] = {
            "index_patterns": [f"{index}*"],
            "priority": 200,
            "template": {"settings": {"number_of_shards": 1},
                         "mappings": {"dynamic": "strict", "properties": props}},
            "_meta": {"description": f"websight {index} documents (websight_core::analytics)"},
        }
    return out
VERSION = "8.11.0"

INDEXES = {
    "session_summary": "timestamp",
    "product_details": "timestamp",
    "product_sentiment": "timestamp",
    "kpi_windows": "window_start",
}


def data_view(index, time_field):
    return {
        "type": "index-pattern",
        "id": f"websight-{index}",
        "attributes": {"title": index, "name": f"websight {index}", "timeFieldName": time_field},
        "references": [],
        "coreMigrationVersion": VERSION,
        "typeMigrationVersion": "8.0.0",
    }


def terms(agg_id, field, size, schema):
    return {"id": agg_id, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": "1"}}


def metric(agg_id, kind, field=None):
    params = {"field": field} if field else {}
    return {"id": agg_id, "enabled": True, "type": kind, "schema": "metric", "params": params}


def visualization(vis_id, title, index, vis_type, aggs, query="", params=None):
    vis_state = {"title": title, "type": vis_type, "aggs": aggs, "params": params or {}}
    search = {"query": {"query": query, "language": "kuery"}, "filter": [],
              "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"}
    return {
        "type": "visualization",
        "id": vis_id,
        "attributes": {
            "title": title,
            "description": "",
            "uiStateJSON": "{}",
            "version": 1,
            "visState": json.dumps(vis_state),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search)},
        },
        "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                        "type": "index-pattern", "id": f"websight-{index}"}],
        "coreMigrationVersion": VERSION,
        "typeMigrationVersion": "8.5.0",
    }


def main():
    for path in TEMPLATE_FILES:
        with open(path, "w") as f:
            f.write(json.dumps(templates(), indent=2) + "\n")
    objects = [data_view(i, t) for i, t in INDEXES.items()]
    visuals = [
        visualization("websight-sentiment-per-category", "Sentiment per category",
                      "product_sentiment", "histogram",
                      [metric("1", "count"), terms("2", "product_category", 20, "segment"),
                       terms("3", "sentiment", 3, "group")],
                      params={"type": "histogram", "addLegend": True}),
        visualization("websight-payment-methods", "Payment methods", "session_summary", "pie",
                      [metric("1", "count"), terms("2", "payment_method", 10, "segment")],
                      query="purchase_made : true", params={"type": "pie", "isDonut": False}),
        visualization("websight-abandoned-carts", "Abandoned carts", "session_summary", "metric",
                      [metric("1", "count")],
                      query="step : (\"cart\" or \"checkout\") and purchase_made : false",
                      params={"type": "metric"}),
        visualization("websight-potential-customers", "Potential customers", "product_details",
                      "table",
                      [metric("1", "max", "time_spent_on_page"),
                       terms("2", "visitor", 20, "bucket"), terms("3", "product_name", 1, "bucket")],
                      query="purchase_made : false and time_spent_on_page > 60",
                      params={"perPage": 20}),
        visualization("websight-channels", "Sessions per channel", "session_summary", "pie",
                      [metric("1", "count"), terms("2", "channel", 20, "segment")],
                      params={"type": "pie", "isDonut": True}),
        visualization("websight-kpi-totals", "KPI totals", "kpi_windows", "metric",
                      [metric("1", "sum", "purchases"), metric("2", "sum", "revenue"),
                       metric("3", "avg", "avg_session_duration"),
                       metric("4", "max", "current_visitors"), metric("5", "avg", "bounce_rate")],
                      params={"type": "metric"}),
        visualization("websight-purchases-over-time", "Purchases over time", "kpi_windows", "line",
                      [metric("1", "sum", "purchases"),
                       {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
                        "params": {"field": "window_start", "interval": "auto"}}],
                      params={"type": "line"}),
    ]
    objects += visuals
    panels, refs = [], []
    for n, v in enumerate(visuals):
        ref = f"panel_{n}"
        panels.append({"version": VERSION, "type": "visualization", "panelIndex": str(n),
                       "gridData": {"x": 24 * (n % 2), "y": 15 * (n // 2), "w": 24, "h": 15,
                                    "i": str(n)},
                       "embeddableConfig": {}, "panelRefName": ref})
        refs.append({"name": ref, "type": "visualization", "id": v["id"]})
    objects.append({
        "type": "dashboard",
        "id": "websight-shop-overview",
        "attributes": {
            "title": "websight — shop overview",
            "description": "The original system's dashboards over websight's indexes.",
            "panelsJSON": json.dumps(panels),
            "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
            "timeRestore": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []})},
        },
        "references": refs,
        "coreMigrationVersion": VERSION,
        "typeMigrationVersion": "8.9.0",
    })
    with open(OUT, "w") as f:
        for o in objects:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    print(f"wrote {len(objects)} objects to {OUT}")


if __name__ == "__main__":
    main()
