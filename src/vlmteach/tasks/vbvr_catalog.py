"""Facts about VBVR-Bench's 100 tasks: the faculty (category) and split the official evaluation kit
assigns each one, keyed by the task's id (the "G-174" of "G-174_arrange_circles_by_circumference_data-generator").

Compiled from the kit's task table (VBVR-EvalKit, vbvr_bench/evaluators): 50 in-domain and 50
out-of-domain tasks, each in one of the five faculties our families use too. The split of a task is a
property of the task, never of a sample."""

from __future__ import annotations

import re

# faculty -> tasks (id_name, as the kit's task folders are named without "_data-generator"), per split
IN_DOMAIN = {
    "abstraction": ("O-10_shape_outline_fill O-12_shape_color_then_scale O-13_shape_outline_then_move "
        "O-14_shape_scale_then_outline O-21_construction_blueprint O-29_ballcolor O-30_bookshelf "
        "O-37_light_sequence O-45_sequence_completion O-47_sliding_puzzle G-29_chart_extreme_with_data "
        "G-41_grid_highest_cost G-51_predict_next_color G-131_select_next_figure_increasing_size_sequence "
        "G-134_select_next_figure_large_small_alternating_sequence"),
    "knowledge": ("O-15_ball_bounces_given_time O-18_glass_refraction O-19_mirror_reflection "
        "O-23_domino_chain_branch_path_prediction O-24_domino_chain_gap_analysis O-34_dot_to_dot_task "
        "O-52_traffic_light O-53_clock O-75_communicating_vessels"),
    "perception": ("O-16_color_addition O-31_ball_eating O-33_counting_object O-38_majority_color G-3_stable_sort "
        "G-5_multi_object_placement G-9_identify_objects_in_region G-39_attention_shift_different "
        "G-43_understand_scene_structure G-138_spot_unique_non_repeated_color "
        "G-158_identify_all_hollow_points"),
    "spatiality": ("O-25_LEGO_construction_assembly O-55_rotation G-13_grid_number_sequence G-15_grid_avoid_obstacles "
        "G-16_grid_go_through_block G-18_grid_shortest_path G-31_directed_graph_navigation "
        "G-45_key_door_matching"),
    "transformation": ("O-32_rolling_ball O-36_grid_shift O-44_rotation_puzzle G-8_track_object_movement "
        "G-21_multiple_occlusions_vertical G-25_seperate_object_spinning G-194_construct_concentric_ring"),
}
OUT_OF_DOMAIN = {
    "abstraction": ("O-9_shape_scaling O-11_shape_color_then_move O-43_object_subtraction O-49_symmetry_completion "
        "O-54_control_panel O-56_raven G-135_select_next_figure_small_large_alternating_sequence "
        "G-193_draw_next_sized_shape"),
    "knowledge": ("O-62_gravity_physics G-160_circle_largest_numerical_value G-217_circle_central_dot "
        "G-247_identify_chinese_character G-273_high_density_liquid"),
    "perception": ("O-2_pigment_color_mixing_subtractive O-65_animal_size_sorting G-54_connecting_color "
        "G-136_locate_point_in_overlapping_area G-147_identify_unique_figure_in_uniform_set "
        "G-161_mark_second_largest_shape G-167_select_longest_polygon_side "
        "G-168_identify_nearest_to_square_rectangle G-169_locate_intersection_of_segments "
        "G-174_arrange_circles_by_circumference G-189_draw_midpoint_perpendicular_line G-202_mark_wave_peaks "
        "G-206_identify_pentagons G-212_find_incorrect_arrow_direction "
        "G-218_identify_largest_angle_in_triangle G-222_mark_tangent_point_of_circles "
        "G-223_highlight_horizontal_lines G-248_mark_asymmetrical_shape G-250_color_triple_intersection_red"),
    "spatiality": ("O-39_maze G-47_multiple_keys_for_one_door G-140_locate_topmost_unobscured_figure "
        "G-219_select_leftmost_shape G-221_outline_innermost_square"),
    "transformation": ("O-5_symbol_deletion O-6_2d_geometric_transformation O-22_construction_stack "
        "O-27_move_2_object_to_2_target O-46_shape_sorter O-58_symbol_delete O-59_symbol_insert "
        "O-60_symbol_substitute O-61_symbol_edit O-64_animal_matching O-85_2d_object_rotation "
        "G-24_separate_objects_no_spin G-240_add_borders_to_unbordered_shapes"),
}
SUFFIX = "_data-generator"
NAMES: dict[str, str] = {  # task id -> full task folder name
    task.split("_", 1)[0]: task + SUFFIX
    for table in (IN_DOMAIN, OUT_OF_DOMAIN) for names in table.values() for task in names.split()
}
TASKS: dict[str, tuple[str, str]] = {  # task id -> (faculty, split)
    task.split("_", 1)[0]: (faculty, split)
    for split, table in (("in", IN_DOMAIN), ("ood", OUT_OF_DOMAIN))
    for faculty, names in table.items() for task in names.split()
}
_ID = re.compile(r"^([GO]-\d+)(?:_|$)")


def task_id(name: str) -> str | None:
    """"G-174_arrange_circles_by_circumference_data-generator" -> "G-174"; None for other names."""
    m = _ID.match(name)
    return m.group(1) if m else None


def by_domain(domain: str) -> str | None:
    """The full task folder name whose name part is `domain` (a generator's metadata "generator", e.g.
    "sliding_puzzle" -> "O-47_sliding_puzzle_data-generator"), or None when no task has that name."""
    found = [full for full in NAMES.values() if full.split("_", 1)[1].removesuffix(SUFFIX) == domain]
    return found[0] if len(found) == 1 else None


def lookup(name: str) -> tuple[str, str] | None:
    """(faculty, split) of a VBVR task folder name, or None when it is not one of the 100 tasks."""
    tid = task_id(name)
    return TASKS.get(tid) if tid else None
