"""The system prompt and message list sent to a language model for a tutor turn."""

from __future__ import annotations

from collections.abc import Sequence

from linguo.conversation.offline_tutor import TutorTurn
from linguo.models.conversation import ConversationMessage, MessageRole
from linguo.providers.llm.base import ChatMessage, Role

LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
}

STYLE_GUIDES = {
    "tutor": "a patient language tutor who keeps the learner talking and corrects gently",
    "casual": "a friendly conversation partner chatting casually",
    "travel": "a local helping a traveller through everyday travel situations",
    "business": "a colleague in a professional setting (meetings, emails, negotiations)",
    "roleplay": "a character in a role-play scene that you set and keep consistent",
    "storytelling": "a storyteller who builds a story together with the learner",
    "debate": "a debate partner who takes the other side and asks for arguments",
    "interviewer": "an interviewer asking one question at a time and following up",
}


def _name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def system_prompt(turn: TutorTurn) -> str:
    """Instructions carrying the level, native language, focus points, target words, style."""
    language, native = _name(turn.language), _name(turn.native_language)
    lines = [
        f"You are {STYLE_GUIDES.get(turn.style, STYLE_GUIDES['tutor'])}, speaking {language} "
        f"with a learner at CEFR level {turn.level} whose native language is {native}.",
        f"Always answer in {language}, with vocabulary and grammar suited to {turn.level}; "
        f"short sentences at A1-A2. Explanations of mistakes may be given in {native}.",
        "Keep each reply to 2-4 sentences and end with one question that moves the "
        "conversation on.",
    ]
    if turn.topic:
        lines.append(f"Topic or scenario: {turn.topic}.")
    if turn.corrections:
        found = "; ".join(
            f"'{c.original}'"
            + (f" -> '{c.suggestion}'" if c.suggestion else "")
            + f" ({c.category})"
            for c in turn.corrections
        )
        lines.append(
            f"The learner's last message had these mistakes: {found}. Start by recasting "
            "their sentence correctly, in a friendly way, without a lecture."
        )
    if turn.focus_points:
        lines.append(
            "Mistakes this learner keeps making (weave in a chance to practise one): "
            + "; ".join(turn.focus_points)
        )
    if turn.target_words:
        words = ", ".join(
            target.word + (f" ({target.translation})" if target.translation else "")
            for target in turn.target_words
        )
        lines.append(
            f"Use these words from the learner's review queue naturally, and invite the "
            f"learner to use them in their answer: {words}."
        )
    if turn.learner_message is None:
        lines.append("Greet the learner and open the conversation.")
    return "\n".join(lines)


def chat_messages(turn: TutorTurn, history: Sequence[ConversationMessage]) -> list[ChatMessage]:
    """The system prompt, then the conversation so far (which ends with the learner's turn)."""
    messages = [ChatMessage(role="system", content=system_prompt(turn))]
    for message in history:
        role: Role = "user" if message.role is MessageRole.USER else "assistant"
        messages.append(ChatMessage(role=role, content=message.content))
    if turn.learner_message is not None and (
        not history or history[-1].role is not MessageRole.USER
    ):
        messages.append(ChatMessage(role="user", content=turn.learner_message))
    return messages
