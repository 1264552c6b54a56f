"""The API's JSON renderer: raw JSON text is written as it is, everything else as DRF writes it."""

import json

from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from storefront.core.api.renderers import JSONRenderer, RawJSON, RawJSONList


def test_data_without_raw_json_is_rendered_as_drf_renders_it():
    data = {"count": 2, "next": None, "results": [{"name": "Tee\u2028"}], "text": "é"}

    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data)


def test_a_raw_value_and_a_raw_list_are_written_verbatim_in_the_envelope():
    first = RawJSON('{"id" : 1, "name" : "Tee"}', id=1)
    second = RawJSON('{"id" : 2, "name" : "Café"}', id=2)
    page = RawJSONList([first, second])
    data = {"count": 2, "next": "http://testserver/?page=2", "results": page}

    body = JSONRenderer().render(data)

    assert body == (
        b'{"count":2,"next":"http://testserver/?page=2","results":'
        + '[{"id" : 1, "name" : "Tee"},{"id" : 2, "name" : "Café"}]}'.encode()
    )
    assert json.loads(body)["results"][1] == {"id": 2, "name": "Café"}
    assert [item.id for item in data["results"]] == [1, 2]


def test_a_raw_document_alone_and_an_empty_raw_list():
    assert JSONRenderer().render(RawJSON('{"id" : 7}', id=7)) == b'{"id" : 7}'
    assert JSONRenderer().render({"results": RawJSONList()}) == b'{"results":[]}'


def test_raw_text_gets_the_line_separator_escapes_drf_gives():
    # U+2028 and U+2029 are valid in JSON but end a line in JavaScript.
    body = JSONRenderer().render(RawJSON('{"name" : "a\u2028b\u2029c"}'))

    assert body == b'{"name" : "a\\u2028b\\u2029c"}'
    assert json.loads(body) == {"name": "a\u2028b\u2029c"}


def test_a_string_that_looks_like_the_placeholder_is_left_alone():
    data = {"note": "raw-json-0", "results": RawJSONList([RawJSON("1")])}

    assert json.loads(JSONRenderer().render(data)) == {"note": "raw-json-0", "results": [1]}
