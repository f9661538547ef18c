"""Every launch language has every mail template with exactly the placeholders of English
(issue 3), no unknown placeholder, valid UTF-8, a one-line subject, and the right-to-left
marking for Hebrew. A translator who drops or misspells {{accept_link}} fails here."""

import os
import re
import unittest

LANGS = ["en", "es", "fr", "de", "pt", "he", "ja"]
FILES = ["subject.txt", "body.txt", "body.html",
         # issue 10: the reminder before expiry, the same three parts
         "reminder_subject.txt", "reminder_body.txt", "reminder_body.html",
         # issue 13: the console's "Email me a link"
         "signin_subject.txt", "signin_body.txt", "signin_body.html"]
KNOWN = {"site_name", "inviter_name", "inviter_email", "invitee_email", "roles", "purpose",
         "purpose_block", "accept_link", "expires", "site_language", "account_name",
         "signin_link"}
PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")


def root():
    src = os.environ.get("SI_SOURCE_DIR",
                         os.path.join(os.path.dirname(__file__), "..", ".."))
    return os.path.join(src, "templates", "mail")


def read(lang, name):
    with open(os.path.join(root(), lang, name), "rb") as f:
        return f.read().decode("utf-8")  # raises on invalid UTF-8


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


class TemplatesCompleteTest(unittest.TestCase):
    def test_every_language_has_every_file_and_placeholder(self):
        present = sorted(d for d in os.listdir(root()) if os.path.isdir(os.path.join(root(), d)))
        self.assertEqual(sorted(LANGS), present)
        for name in FILES:
            want = placeholders(read("en", name))
            self.assertTrue(want, name)
            for lang in LANGS:
                with self.subTest(lang=lang, file=name):
                    text = read(lang, name)
                    got = placeholders(text)
                    self.assertTrue(set(got) <= KNOWN, "unknown placeholder in %s" % got)
                    # Same placeholders, as many times: a link shown twice stays shown twice.
                    self.assertEqual(got, want)
                    self.assertNotIn("{{", PLACEHOLDER.sub("", text), "unclosed {{")
                    if lang != "en":
                        self.assertNotEqual(text, read("en", name), "not translated")

    def test_subject_one_line_and_html_direction(self):
        for lang in LANGS:
            with self.subTest(lang=lang):
                for prefix in ("", "reminder_", "signin_"):
                    subject = read(lang, prefix + "subject.txt")
                    self.assertEqual(subject.count("\n"), 1)
                    self.assertTrue(subject.endswith("\n") and subject.strip())
                    html = read(lang, prefix + "body.html")
                    self.assertIn('<html lang="%s"' % lang, html)
                    self.assertEqual('dir="rtl"' in html, lang == "he")
                    # The link is also shown as text, for clients that block buttons.
                    link = "signin_link" if prefix == "signin_" else "accept_link"
                    self.assertIn(">{{%s}}</a>" % link, html)


if __name__ == "__main__":
    unittest.main()
