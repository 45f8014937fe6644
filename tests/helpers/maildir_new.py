"""The messages a Maildir folder gained since a listing, by recipient.

For the web tests' checks of what the daemon sent after an action:
    sys.path.insert(0, "tests/helpers")
    from maildir_new import by_recipient
    texts = by_recipient(folder, old_listing)   # {"to@x": [plain text, ...]}
"""
import email
import email.policy
import os


def by_recipient(folder, old_listing):
    old = set(old_listing.split())
    out = {}
    for name in sorted(os.listdir(folder)):
        if name in old:
            continue
        with open(os.path.join(folder, name), "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        out.setdefault(m["To"], []).append(m.get_body(("plain",)).get_content())
    return out
