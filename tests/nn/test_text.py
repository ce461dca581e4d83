from vlmteach.nn import WordTokenizer


def test_tokenizer_reads_words_pads_to_the_batch_and_maps_unknown_words():
    tok = WordTokenizer.build(["Move the red ball", "the green square"], max_len=6)
    ids = tok.encode(["move the red ball to the green square", "red"])
    assert ids.shape == (2, 6)  # <cls> + 5 words, truncated at max_len
    assert ids[0, 0] == tok.vocab.index("<cls>")
    assert tok.vocab[ids[0, 3]] == "red" and tok.vocab[ids[0, 5]] == "<unk>"  # "to" is unknown
    assert ids[1, 2:].eq(0).all()  # padded
    assert tok.unknown_words("to the moon") == ["to", "moon"]
    assert tok.encode(["red"]).shape == (1, 2)  # pads only to the longest text of the batch
