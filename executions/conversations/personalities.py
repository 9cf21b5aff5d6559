"""The communication styles ``/personality set <preset>`` chooses from; the
thread's choice goes into its system prompt after the agent's own personality."""

PERSONALITIES = {
    "concise": "Answer briefly and directly; no preamble, no filler.",
    "friendly": "Be warm and encouraging, in plain everyday language.",
    "formal": "Use a formal, precise, professional tone.",
    "teacher": "Explain step by step, check understanding, and give small examples.",
    "technical": "Be technically exact: name the concepts, show code or commands where they help.",
    "socratic": "Guide with questions that lead the user to the answer rather than giving it outright.",
}
