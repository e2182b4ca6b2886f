from tests.factories import Factory


def test_health(app_client):
    assert app_client.get("/api/v1/health").json()["status"] == "ok"


def test_factory_makes_a_working_annotator(factory: Factory, app_client):
    org = factory.org()
    ann = factory.person(org)
    project = factory.project(org)
    factory.texts(project, 3)
    r = app_client.post(f"/api/v1/projects/{project.id}/next?count=5", headers=ann.headers)
    assert r.status_code == 200
    assert [t["item"]["text"] for t in r.json()] == ["text 0", "text 1", "text 2"]
