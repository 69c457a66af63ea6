/* placeholder translation unit for a subsystem with no sources yet */
typedef int dd_empty_translation_unit;
