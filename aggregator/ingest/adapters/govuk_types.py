"""GOV.UK document types: the resource type each suggests, and its name for people."""

from __future__ import annotations

from collections.abc import Mapping

from aggregator.model import ResourceType

# GOV.UK `document_type` -> our ResourceType. Types not listed give no hint (normalise decides).
# Reasoning for the less obvious rows:
# - guidance / detailed_guide / guide / manual / form / step_by_step_nav are practical "how to" material,
#   which this project files as toolkits; statutory_guidance carries legal force, so it is policy.
# - consultations (open, closed, outcome) and regulations shape policy, so they are policy.
# - speeches, ministerial statements and government responses are dated announcements, so news.
# - research, statistics and independent reports are evidence (research); the corporate and
#   accountability reports of departments and investigation bodies are reports.
TYPE_BY_DOCUMENT_TYPE: Mapping[str, ResourceType] = {
    "case_study": ResourceType.CASE_STUDY,
    **dict.fromkeys(
        (
            "news_story",
            "press_release",
            "world_news_story",
            "news_article",
            "speech",
            "oral_statement",
            "written_statement",
            "authored_article",
            "government_response",
            "fatality_notice",
        ),
        ResourceType.NEWS,
    ),
    **dict.fromkeys(
        (
            "research",
            "independent_report",
            "national_statistics",
            "official_statistics",
            "statistics",
            "statistical_data_set",
            "dfid_research_output",
            "research_for_development_output",
            "drcf_digital_markets_research",
        ),
        ResourceType.RESEARCH,
    ),
    **dict.fromkeys(
        (
            "corporate_report",
            "transparency",
            "foi_release",
            "impact_assessment",
            "notice",
            "html_publication",
            "maib_report",
            "raib_report",
            "aaib_report",
            "service_standard_report",
            "publication",
        ),
        ResourceType.REPORT,
    ),
    **dict.fromkeys(
        (
            "policy_paper",
            "policy",
            "consultation",
            "open_consultation",
            "closed_consultation",
            "consultation_outcome",
            "regulation",
            "statutory_guidance",
            "statutory_instrument",
        ),
        ResourceType.POLICY,
    ),
    **dict.fromkeys(
        (
            "guidance",
            "detailed_guide",
            "detailed_guidance",
            "guide",
            "manual",
            "manual_section",
            "form",
            "step_by_step_nav",
            "service_manual_guide",
            "promotional",
        ),
        ResourceType.TOOLKIT,
    ),
}


# When the document_type is not in the table, the schema (the page's format) may still say enough.
TYPE_BY_SCHEMA: Mapping[str, ResourceType] = {
    "case_study": ResourceType.CASE_STUDY,
    "news_article": ResourceType.NEWS,
    "speech": ResourceType.NEWS,
    "publication": ResourceType.REPORT,
    "consultation": ResourceType.POLICY,
    "detailed_guide": ResourceType.TOOLKIT,
    "guide": ResourceType.TOOLKIT,
}


def type_hint(document_type: str | None, schema_name: str | None = None) -> ResourceType | None:
    """Our resource type for a GOV.UK document type (falling back to the schema name), or None."""
    return TYPE_BY_DOCUMENT_TYPE.get(document_type or "") or TYPE_BY_SCHEMA.get(schema_name or "")


def humanise(document_type: str | None) -> str:
    """ "policy_paper" -> "Policy paper", as GOV.UK labels document types on its pages."""
    return (document_type or "").replace("_", " ").strip().capitalize()
