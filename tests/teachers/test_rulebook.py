import json

import pytest

from vlmteach.errors import VlmteachError
from vlmteach.nn.text import WordTokenizer
from vlmteach.tasks import all_families
from vlmteach.teachers import QuerySet, weights_dir
from vlmteach.teachers.rulebook import all_query_texts, generic_queries, match, propose

# Families with a query rule of their own (TaskFamily.queries); the others get the generic queries.
WITH_RULES = [f for f in all_families() if f.queries is not None]


@pytest.mark.parametrize("family", WITH_RULES, ids=lambda f: f.name)
def test_every_family_prompt_gets_its_own_queries_with_real_checks(family):
    for seed in range(40):
        for d in range(family.difficulty_range[0], family.difficulty_range[1] + 1):
            inst = family.generate(seed, d)
            assert match(inst.prompt).name == family.name, inst.prompt
            q = propose(inst.prompt)
            assert q.source == "rulebook" and 1 <= len(q.process) <= 3
            parts = family.score(inst.ground_truth, inst).parts
            assert set(q.checks) <= set(parts)
            assert "coloured" not in q.goal, (q.goal, inst.prompt)  # it read the colours it needs


def test_families_without_a_rule_get_the_generic_queries_not_another_familys():
    for family in all_families():
        if family.queries is None:
            for seed in range(10):
                prompt = family.generate(seed).prompt
                assert match(prompt) is None, (family.name, prompt)
                assert propose(prompt) == generic_queries()


def test_the_rule_book_still_writes_every_word_the_shipped_tiny_teacher_knows():
    # the shipped weights were trained on the families' queries and saved the vocabulary built from
    # all_query_texts (sorted, so the order of the families is irrelevant); a new family may add words
    folder = weights_dir()
    first = json.loads((folder / "tiny_teacher.json").read_text())["members"][0]
    shipped = json.loads((folder / f"{first}.json").read_text())["vocab"]
    assert set(shipped) <= set(WordTokenizer.build(all_query_texts(), 48).vocab)


def test_queries_name_the_colours_of_the_prompt():
    q = propose("Move the purple ball through the maze to the green square without passing through the grey walls.")
    assert q.goal == "By the end of the video, is the purple ball on the green square?"
    assert "purple ball" in q.process[0]
    mix = propose("Slide the yellow block and the blue block together so that they mix into one block.")
    assert "one green block" in mix.goal


def test_unknown_prompts_fall_back_to_generic_queries():
    q = propose("Paint a sunset over the ocean.")
    assert q.source == "generic" and q.checks == ("goal", "process")
    assert q.weights.tolist() == [0.5, 0.5]


def test_queryset_validates():
    with pytest.raises(VlmteachError, match="1 to 3"):
        QuerySet(goal="Done?", process=())
    with pytest.raises(VlmteachError, match="lam"):
        QuerySet(goal="Done?", process=("Ok?",), lam=2.0)
    q = QuerySet(goal="Done?", process=("A?", "B?"), lam=0.5)
    assert q.weights.tolist() == [0.5, 0.25, 0.25]


# Prompts of other benchmarks' tasks that share a word with one of ours (paraphrased from the VBVR
# generators: arrange circles by circumference, a numbered sliding puzzle, a bookshelf insertion).
FOREIGN = [
    "Seven circles of different sizes lie scattered. Keep their sizes and colours; line them up in one row "
    "and sort them from left to right by circumference, from largest to smallest.",
    "Finish this sliding puzzle: put the numbered tiles in grid order, row by row, with the empty space in the "
    "bottom-right corner. Only a tile next to the empty space may move, one tile per move.",
    "A shelf holds blue books from left to right, grouped by similar height. Insert each red book at the end of "
    "the group whose average height is closest to its own; books going to one place are sorted by height.",
    "Drop the ball into the cup.",
    "Turn on the light.",
]
# Our families' tasks in words their generators never use.
PARAPHRASES = {
    "maze": "Steer the red ball along the maze's passages to the green square.",
    "stable_sort": "Arrange the bars by height, shortest first, keeping equal bars in their order.",
    "sliding_puzzle": "Slide the tiles into the gap until the top row shows red, blue and the middle row green.",
    "counting": "Fill the tray with one token per blue ring.",
    "key_door": "The green block takes the key and then walks to the door.",
    "light_sequence": "Switch on just the leftmost two lamps.",
}


@pytest.mark.parametrize("prompt", FOREIGN)
def test_foreign_prompts_get_generic_queries(prompt):
    assert match(prompt) is None
    assert propose(prompt).source == "generic"


@pytest.mark.parametrize("family", list(PARAPHRASES))
def test_paraphrases_of_our_prompts_still_match(family):
    assert match(PARAPHRASES[family]).name == family
