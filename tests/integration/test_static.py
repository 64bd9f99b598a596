"""Static files under versioned names, cached for a year; other names briefly."""

from __future__ import annotations

import re

from services import static_files


def test_pages_link_static_files_by_content_hash_and_those_are_immutable(client):
    page = client.get("/domaine-de-la-vernette/").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert any(re.search(r"/css/chai\.[0-9a-f]{8}\.css$", link) for link in links), links
    assert any(re.search(r"/htmx\.min\.[0-9a-f]{8}\.js$", link) for link in links), links
    for link in links:
        response = client.get(link)
        assert response.status_code == 200
        assert response.cache_control.max_age == static_files.IMMUTABLE_MAX_AGE
        assert response.cache_control.immutable
        response.close()


def test_a_plain_or_stale_name_is_served_but_only_briefly_cached(client):
    for name in ("/static/css/chai.css", "/static/css/chai.00000000.css"):
        response = client.get(name)
        assert response.status_code == 200 and b"{" in response.data
        assert response.cache_control.max_age == static_files.SHORT_MAX_AGE
        assert not response.cache_control.immutable
        response.close()


def test_a_changed_file_gets_a_new_name(tmp_path):
    (tmp_path / "site.css").write_text("body { color: red }")
    first = static_files.versioned(str(tmp_path), "site.css")
    (tmp_path / "site.css").write_text("body { color: blue }")
    import os

    os.utime(tmp_path / "site.css", (1, 1))  # a different mtime, as a deployment gives
    second = static_files.versioned(str(tmp_path), "site.css")
    assert first != second and first.startswith("site.") and first.endswith(".css")
    assert static_files.resolve(str(tmp_path), second) == ("site.css", static_files.IMMUTABLE_MAX_AGE)
    assert static_files.resolve(str(tmp_path), first) == ("site.css", static_files.SHORT_MAX_AGE)


def test_missing_or_escaping_names_are_404(client):
    assert client.get("/static/css/nothing.css").status_code == 404
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/css/nothing.1234abcd.css").status_code == 404
