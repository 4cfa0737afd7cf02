"""The README and docs/components/ say what the package does: every page linked, every example runs."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from serverless_blueprints import thumbnail_pipeline

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs" / "components"
COMPONENT_PAGES = {
    "serverless_rest_api": "serverless-rest-api.md", "static_site": "static-site.md",
    "global_table": "global-table.md", "blog_api": "blog-api.md", "welcome_email": "welcome-email.md",
    "thumbnail_pipeline": "thumbnail-pipeline.md", "update_offload_cdn": "update-offload-cdn.md",
    "outbox_relay": "outbox-relay.md",
}
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# Components whose owners are writing their page: strict, so the marker goes when the page lands.
PAGE_PENDING: dict[str, str] = {}  # module -> why its page is still missing (a strict xfail until it exists)
MODULES = sorted(p.stem for p in (REPO / "components").glob("*.py") if p.stem != "__init__")


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def page_of(module: str) -> Path:
    return DOCS / f"{module.replace('_', '-')}.md"


def building_blocks() -> set[str]:
    return set(re.findall(r"^\| `(\w+)\.py` \|", (DOCS / "building-blocks.md").read_text(), flags=re.M))


@pytest.mark.parametrize("module", [
    pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=PAGE_PENDING[m])) if m in PAGE_PENDING else m
    for m in MODULES])
def test_every_module_has_its_own_page_or_a_building_blocks_row(module):
    assert page_of(module).is_file() or module in building_blocks(), (
        f"components/{module}.py is documented nowhere: write {page_of(module).relative_to(REPO)} (a component) "
        f"or add a row to docs/components/building-blocks.md (a building block)")


def test_the_readme_links_every_page_and_each_component_page_is_a_module():
    links = set(LINK.findall(readme_section("Components")))
    for page in DOCS.glob("*.md"):
        assert f"docs/components/{page.name}" in links, f"README's Components table lacks {page.name}"
        assert page.stem == "building-blocks" or page.stem.replace("-", "_") in MODULES
    for module, page in COMPONENT_PAGES.items():
        assert (DOCS / page).is_file() and module not in building_blocks()


def test_local_links_in_the_readme_and_the_pages_resolve():
    for page in [README, *DOCS.glob("*.md")]:
        for target in LINK.findall(page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.relative_to(REPO)} links to missing {target}"


def test_quick_start_is_two_commands():
    (commands,) = code_blocks(readme_section("Quick start"), "sh")
    assert [line.split("#")[0].strip() for line in commands.strip().splitlines()] == ["make plan", "make test"]


def test_thumbnail_page_states_the_handlers_time_reserve():
    page = (DOCS / "thumbnail-pipeline.md").read_text()
    assert f"keeps a {thumbnail_pipeline.HANDLER_TIME_RESERVE_SECONDS} s reserve" in page
    assert f"ceil10({thumbnail_pipeline.HANDLER_TIME_RESERVE_SECONDS} + 3 × worst_image_s)" in page


def test_readme_program_and_its_unit_tests_run_as_written(tmp_path, monkeypatch):
    section = readme_section("Use it in your project")
    program, tests = code_blocks(section, "python")
    (tmp_path / "Pulumi.yaml").write_text("name: photos\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(program)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(textwrap.dedent(tests), "README.md", "exec"), namespace)
    test_functions = [f for name, f in namespace.items() if name.startswith("test_")]
    assert len(test_functions) == 2
    for test in test_functions:
        test()


def test_readme_yaml_program_uses_the_providers_type_and_property_names():
    provider = pytest.importorskip("serverless_blueprints.provider")
    import yaml

    (program,) = code_blocks(readme_section("Use it in your project"), "yaml")
    program = yaml.safe_load(program)
    schema = provider.schema()
    assert list(program["packages"]) == [schema["name"]]
    (resource,) = program["resources"].values()
    component = schema["resources"][resource["type"]]
    assert set(resource["properties"]) <= set(component["inputProperties"])
    used_outputs = {re.fullmatch(r"\$\{photos\.(\w+)\}", value).group(1) for value in program["outputs"].values()}
    assert used_outputs <= set(component["properties"])
