"""``microseg models list`` / ``microseg models info NAME`` print the cards of the available
models; an unknown name fails listing the available ones."""
from microseg import zoo
from microseg.cli import main


def test_list_prints_one_row_per_available_model(untrained_zoo, capsys):
    assert main(["models", "list"]) == 0
    header, *rows = capsys.readouterr().out.strip().splitlines()
    assert header.split()[:5] == ["name", "architecture", "parameters", "size", "MB"]
    card = zoo.card("default")
    size = (untrained_zoo / "default.pt").stat().st_size / 1e6
    assert [row.split()[:4] for row in rows] == [
        ["default", card.architecture.name, f"{card.parameters:,}", f"{size:.1f}"]]
    assert rows[0].endswith(card.summary)
    assert main(["models"]) == 0 and capsys.readouterr().out.strip().splitlines()[1:] == rows


def test_list_says_when_no_model_is_bundled(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(zoo.ENV_VAR, str(tmp_path))
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.strip() == f"no bundled models (no checkpoints in {tmp_path})"


def test_info_prints_the_card(untrained_zoo, capsys):
    assert main(["models", "info", "default"]) == 0
    text = capsys.readouterr().out
    card = zoo.card("default")
    flat = " ".join(text.split())
    for expected in (card.summary, f"{card.parameters:,} parameters", card.training.config,
                     "Caicedo et al. 2019", "Maška et al. 2014", "Ulman et al. 2017",
                     str(untrained_zoo / "default.pt"), *card.training.commands):
        assert " ".join(expected.split()) in flat
    lines = [line.strip() for line in text.splitlines()]
    assert all(f"$ {command}" in lines for command in card.training.commands)   # not wrapped


def test_an_unknown_name_fails_and_lists_the_names(untrained_zoo, capsys):
    assert main(["models", "info", "no-such-model"]) == 2
    error = capsys.readouterr().err
    assert "no-such-model: no bundled model" in error and "available: default" in error
    assert main(["models", "info"]) == 2
    assert "needs a model name; available: default" in capsys.readouterr().err
