"""scripts/check_checkpoint.py on tiny checkpoints in both layouts."""

import torch

from model.checkpoint import load_glm
from scripts.check_checkpoint import CLOZE_SENTENCES, main
from scripts.make_tiny_checkpoint import make_tiny_checkpoint


def test_reports_rows_and_fills_with_both_mask_ids(tmp_path, capsys):
    ckpt = make_tiny_checkpoint(tmp_path / "t", vocab="real", num_layers=1, hidden_size=32, num_heads=2)
    main([str(ckpt), "--top", "2"])
    out = capsys.readouterr().out
    assert "parameters: 1," in out and "float32" in out
    assert "row 50264 (<mask>)" in out and "row 50267 ([MASK])" in out
    assert out.count("id 50264 (original <mask>)") == len(CLOZE_SENTENCES)
    assert out.count("id 50267 (HF [MASK])") == len(CLOZE_SENTENCES)


def test_original_layout_with_separate_tokenizer(tmp_path, capsys):
    ckpt = make_tiny_checkpoint(tmp_path / "t", vocab="real", num_layers=1, hidden_size=64, num_heads=1)
    model = load_glm(ckpt)
    (tmp_path / "orig" / "release").mkdir(parents=True)
    (tmp_path / "orig" / "latest_checkpointed_iteration.txt").write_text("release")
    torch.save({"module": model.state_dict()}, tmp_path / "orig" / "release" / "mp_rank_00_model_states.pt")
    main([str(tmp_path / "orig"), "--tokenizer", str(ckpt), "--top", "1"])
    assert "layers 1, hidden 64, heads 1" in capsys.readouterr().out
