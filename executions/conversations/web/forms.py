"""The chat page's forms: only the shape of what is typed; the rules (title
length, NUL characters, the session limit, a running agent) are the
services' and the API's input serializers', shown beside the field they name."""

from django import forms
from django.conf import settings

from executions.conversations.inputs import TITLE_MAX


class ThreadCreateForm(forms.Form):
    prefix = "new"  # beside the rename form on a thread's page

    title = forms.CharField(label="Title", required=False, max_length=TITLE_MAX,
                            help_text="Optional: without one, the first words of your first message.")


class ThreadRenameForm(forms.Form):
    prefix = "rename"

    title = forms.CharField(label="New title", required=False, max_length=TITLE_MAX,
                            help_text='Empty: back to "New Conversation".')


class MessageForm(forms.Form):
    message = forms.CharField(label="Message", strip=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Enter sends, Shift+Enter starts a new line; /help lists the commands.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the length itself is checked by the API's ChatRequestSerializer
        self.fields["message"].widget.attrs["maxlength"] = settings.AGENTRY_CHAT_MAX_MESSAGE_CHARS
