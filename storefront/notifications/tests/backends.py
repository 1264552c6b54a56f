"""An email backend for the worker started by the integration tests."""

import smtplib
from pathlib import Path

from django.core.mail.backends import filebased


class FlakyFileBackend(filebased.EmailBackend):
    """Django's file-based backend, behind an SMTP server that hangs up N times.

    N is read from the file `failures` beside the mail folder (EMAIL_FILE_PATH); each send
    while N > 0 decrements it and raises SMTPServerDisconnected, as a real SMTP outage would.
    """

    def send_messages(self, email_messages):
        failures = Path(self.file_path).parent / "failures"
        left = int(failures.read_text()) if failures.exists() else 0
        if left > 0:
            failures.write_text(str(left - 1))
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed (test)")
        return super().send_messages(email_messages)
