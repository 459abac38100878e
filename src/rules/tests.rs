//! Table tests of the rules on hand-made clusters, bars and swings.
