from django.core.management import call_command


def test_openapi_schema_of_the_whole_api_has_no_warnings(db, tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (an undocumented view, an enum clash)
    # into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
    assert "/api/orders/" in (tmp_path / "s.yaml").read_text()


def test_api_docs_render_with_local_assets(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
