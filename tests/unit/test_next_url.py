import pytest

from bulletin.web.next_url import safe_next_path


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/x",
        "\\\\evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "%2F%2Fevil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "%2F%5Cevil.example",
        "/%252F/evil.example",
        "https:%2F%2Fevil.example",
        "java%0Ascript:alert(1)",
        "/%0A/evil.example",
        " //evil.example",
        "\t/\\evil.example",
        "evil.example",
        "",
        None,
        "///evil.example",
        "/%2f%2fevil.example",
    ],
)
def test_unsafe_targets_are_refused(target):
    assert safe_next_path(target) is None


@pytest.mark.parametrize("target", ["/", "/user/alice", "/post/3?page=2", "/search?q=a%20b"])
def test_local_paths_are_kept(target):
    assert safe_next_path(target) == target
