"""One plain-language sentence for each statistic a page shows (``{% help "ece" %}``)."""

GLOSSARY: dict[str, tuple[str, str]] = {
    # key: (term, one sentence a sales manager understands)
    "ece": (
        "ECE",
        "Expected calibration error: on average, how far the agent's stated confidence is "
        "from how often it actually succeeds (0 is perfect, above 0.10 means it misjudges "
        "itself).",
    ),
    "brier": (
        "Brier score",
        "The average squared gap between the agent's confidence and what happened: 0 is "
        "perfect, 0.25 is no better than always guessing 50 %.",
    ),
    "confidence": (
        "Confidence",
        "How likely this learning is to work, from its evidence: 0.50 with none, rising with "
        "successes and falling with failures, and moving less while evidence is thin.",
    ),
    "lift": (
        "Lift",
        "How much more often outcomes succeeded when the agent applied this learning than "
        "comparable ones where it did not (same action type and period), with a 95 % range; "
        "a range wholly below zero means the learning is hurting.",
    ),
    "rank": (
        "Rank",
        "Relevance × confidence × decay: how strongly this learning is offered to the agent; "
        "relevant, well-proven, recently successful learnings come first.",
    ),
    "decay": (
        "Decay",
        "Falls from 1.0 to 0.5 as time passes since this learning last worked, so stale "
        "advice fades.",
    ),
    "autonomy_rate": (
        "Autonomy rate",
        "The share of the agent's proposed actions that the guardrails let it take without "
        "waiting for a person.",
    ),
    "success_rate": (
        "Success rate",
        "Of the actions whose outcome is known, the share that got the customer response "
        "they aimed for (a reply, a meeting, a deal moving forward).",
    ),
}
