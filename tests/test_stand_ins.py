"""One mistake costs its own points once: composites are graded with the reference helpers' behaviour.

The grader records the reference helpers' calls outside the kernel; the student's composite replays
them in the kernel (autograder/stand_ins.py). These tests break a helper and check that the
composite still earns its points while the helper loses its own, that a wrong composite still
fails, and that nothing but recorded values reaches the student's side.
"""
from __future__ import annotations

import types

import nbformat
import numpy as np
import pytest

from autograder import batch, checks, grading, judge, record, release, specs, stand_ins
from autograder.judge import check_locally
from course_under_test import COURSE
from course_utils.notebook_loader import load_notebook
from toy_course import add_composite_assignment, make_repo

A1, A2 = COURSE.assignment("a1"), COURSE.assignment("a2")


def _without_stand_ins(assignment, name: str, fn) -> judge.Verdict:
    spec = assignment.spec(name)
    return judge.verdict(checks.collect(spec, fn, 0, None), spec, assignment.reference(name))


def flipped_gradients(gray):
    """image_gradients with gy of the wrong sign (vectorised, so only its values are wrong)."""
    gray = np.asarray(gray, dtype=np.float64)
    gx, gy = np.zeros_like(gray), np.zeros_like(gray)
    gx[:, :, 1:-1] = gray[:, :, 2:] - gray[:, :, :-2]
    gy[:, 1:-1, :] = gray[:, :-2, :] - gray[:, 2:, :]
    return gx, gy


def looping_gradients(gray):
    """A correct image_gradients written with a loop: it loses its own points, not hog_features'."""
    gray = np.asarray(gray, dtype=np.float64)
    gx, gy = np.zeros_like(gray), np.zeros_like(gray)
    for n in range(len(gray)):
        gx[n, :, 1:-1] = gray[n, :, 2:] - gray[n, :, :-2]
        gy[n, 1:-1, :] = gray[n, 2:, :] - gray[n, :-2, :]
    return gx, gy


@pytest.fixture()
def features():
    """A fresh copy of the reference 01_features definitions, to break one helper at a time."""
    return load_notebook(A1.source_dir / "01_features.ipynb")


def test_a_wrong_helper_costs_its_own_points_only(features):
    features.image_gradients = flipped_gradients
    with pytest.raises(AssertionError, match="image_gradients"):
        check_locally(A1, "image_gradients", flipped_gradients)
    check_locally(A1, "hog_features", features.hog_features)
    assert _without_stand_ins(A1, "hog_features", features.hog_features).passed < 5  # the mechanism matters


def test_a_loop_in_a_helper_is_not_charged_to_the_composite(features):
    features.image_gradients = looping_gradients
    with pytest.raises(AssertionError, match="vectorised"):
        check_locally(A1, "image_gradients", looping_gradients)
    check_locally(A1, "hog_features", features.hog_features)


def test_a_wrong_composite_still_fails_and_says_which_helper_ran_as_its_own(features):
    namespace = features.hog_features.__globals__
    exec("def hog_features(images, cell_size=8, bins=9, block_size=2):\n"
         "    gray = np.asarray(images).astype(np.float64).mean(axis=-1)\n"  # the wrong luminance
         "    gx, gy = image_gradients(gray)\n"
         "    mag, ori = magnitude_orientation(gx, gy)\n"
         "    return block_normalize(cell_histograms(mag, ori, cell_size, bins), block_size)\n", namespace)
    spec = A1.spec("hog_features")
    replayed = stand_ins.record_calls(spec, A1.reference("hog_features"), 0)
    collected = checks.collect(spec, namespace["hog_features"], 0, replayed)
    verdict = judge.verdict(collected, spec, A1.reference("hog_features"))
    assert verdict.passed < verdict.cases
    assert any("called image_gradients with arguments the reference never passes" in note
               for note in collected.notes), collected.notes


def test_a_convnet_is_graded_on_the_reference_layers_of_04():
    convnets = load_notebook(A2.source_dir / "05_convnets.ipynb", base_dir=A2.source_dir)
    convnets.layers.relu_backward = lambda dout, cache: dout  # forgets the ReLU mask
    check_locally(A2, "three_layer_convnet_loss", convnets.three_layer_convnet_loss)
    assert _without_stand_ins(A2, "three_layer_convnet_loss", convnets.three_layer_convnet_loss).passed < 5
    assert convnets.layers.relu_backward(np.ones(2), np.array([-1.0, 1.0])).tolist() == [1.0, 1.0], \
        "the student's own helper is put back after the check"


def test_a_deep_net_is_graded_on_the_reference_06_layers_and_their_running_averages():
    A3 = COURSE.assignment("a3")
    deeper = load_notebook(A3.source_dir / "07_deeper_networks.ipynb", base_dir=A3.source_dir)
    correct = deeper.layers.batchnorm_forward

    def stale_running_averages(x, gamma, beta, state, mode="train"):
        return correct(x, gamma, beta, dict(state), mode)  # forgets to update the running averages in state

    deeper.layers.batchnorm_forward = stale_running_averages
    assert _without_stand_ins(A3, "deep_net_loss", deeper.deep_net_loss).passed < \
        len(list(A3.spec("deep_net_loss").cases(A3.spec("deep_net_loss").rng(0))))
    check_locally(A3, "deep_net_loss", deeper.deep_net_loss)


def test_recorded_calls_travel_as_plain_data_and_garbage_is_refused():
    spec = A1.spec("hog_features")
    calls = stand_ins.record_calls(spec, A1.reference("hog_features"), 7)
    again = stand_ins.loads(stand_ins.dumps(calls))
    assert set(again) == {case.label for case in spec.cases(spec.rng(7))}
    first = again["typical 32x32 grey-valued images"]
    assert [call.helper for call in first] == list(spec.stand_ins)
    assert np.array_equal(first[0].arguments["gray"], calls["typical 32x32 grey-valued images"][0].arguments["gray"])
    with pytest.raises(record.RecordError):
        stand_ins.loads(b"not an npz file")


def test_a_stand_in_the_reference_cannot_see_is_a_spec_error():
    spec = specs.Spec("hog_features", cases=A1.spec("hog_features").cases, stand_ins=("no_such_helper",))
    with pytest.raises(specs.SpecError, match="no_such_helper"):
        stand_ins.record_calls(spec, A1.reference("hog_features"), 0)


def test_a_missed_accuracy_is_not_charged_again_when_a_function_it_is_built_from_lost_points():
    target = specs.AccuracySpec("model", thresholds={"synthetic": 0.5}, cell="model_accuracy",
                                built_from=("helper",))
    book = specs.SpecBook({"model": target, "helper": specs.Spec("helper")}, {})
    judging = types.SimpleNamespace(assignment=types.SimpleNamespace(specs=book))

    missed = f"model: accuracy 0.200 on 1000 {judge.MISSED_TARGET} 0.50"

    def scores(helper_score, why=missed):
        return [grading.CellScore("helper_tests", 2, helper_score),
                grading.CellScore("model_accuracy", 2, 0.0, message=why, failures=[why])]

    charged_once = scores(1.0)
    grading._not_charged_twice(judging, charged_once)
    assert charged_once[1].score == 2 and "built from helper" in charged_once[1].notes[0]
    helper_correct = scores(2.0)
    grading._not_charged_twice(judging, helper_correct)
    assert helper_correct[1].score == 0.0 and helper_correct[1].failures == [missed]
    could_not_predict = scores(0.0, "model: predict raised NotImplementedError: ")  # e.g. an untouched notebook
    grading._not_charged_twice(judging, could_not_predict)
    assert could_not_predict[1].score == 0.0


# --- end to end: sandboxed grading of the toy composite --------------------------------------------
STUDENTS = {
    # name: (toy_scale body, toy_scaled_sums body, expected (scale, scaled sums), words in the sums cell's notes)
    "correct": ("return np.asarray(x, dtype=float) * factor", "return toy_scale(x, 2.0).sum(axis=1)", (1, 2), ""),
    "wrong_helper": ("return np.asarray(x, dtype=float) * factor + 1", "return toy_scale(x, 2.0).sum(axis=1)",
                     (0, 2), "graded with the reference toy_scale"),
    "looping_helper": ("return np.array([row * factor for row in x])", "return toy_scale(x, 2.0).sum(axis=1)",
                       (0, 2), "graded with the reference toy_scale"),
    "wrong_composite": ("return np.asarray(x, dtype=float) * factor", "return toy_scale(x, 3.0).sum(axis=1)",
                        (1, 0), "arguments the reference never passes"),
}


@pytest.fixture(scope="module")
def composite(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = make_repo(root)
    assignment = add_composite_assignment(course)
    release.release(course, assignment)
    released = course.release / assignment / "01_composite.ipynb"
    for student, (scale, sums, _, _) in STUDENTS.items():
        notebook = nbformat.read(released, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id == "toy_scale":
                cell.source = f"import numpy as np\n\ndef toy_scale(x, factor):\n    {scale}"
            elif grade_id == "toy_scaled_sums":
                cell.source = f"def toy_scaled_sums(x):\n    {sums}"
        folder = root / "class" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "01_composite.ipynb")
    results = batch.grade(course, assignment, root / "class", jobs=2, cell_timeout=60, notebook_timeout=120,
                          progress=False)
    return course, assignment, {result.student: result.notebooks[0] for result in results}


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_sandboxed_grading_charges_a_mistake_once(composite, student):
    _, _, graded = composite
    cells = {cell.grade_id: cell for cell in graded[student].cells}
    *_, (scale, sums), words = STUDENTS[student]
    assert (cells["toy_scale_tests"].score, cells["toy_scaled_sums_tests"].score) == (scale, sums), graded[student]
    assert words in " ".join(cells["toy_scaled_sums_tests"].notes + cells["toy_scaled_sums_tests"].failures)


@pytest.mark.slow
def test_the_release_check_names_a_stand_in_the_reference_does_not_call(composite):
    course, assignment, _ = composite
    spec_file = course.source / assignment / "01_composite.specs.py"
    original = spec_file.read_text()
    try:
        spec_file.write_text(original.replace('stand_ins=("toy_scale",)', 'stand_ins=("toy_shift",)'))
        problems = release.validate(course.assignment(assignment))
    finally:
        spec_file.write_text(original)
    assert any("toy_shift" in problem for problem in problems), problems


def test_the_feedback_page_shows_how_a_cell_was_graded():
    from autograder import feedback

    score = grading.CellScore("hog_features_tests", 2, 2.0, notes=[stand_ins.description(A1.spec("hog_features"))])
    shown = feedback._score_note(score, None)
    assert "note: hog_features is graded with the reference image_gradients" in shown
