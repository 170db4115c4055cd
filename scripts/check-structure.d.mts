/** Every problem with the tree under `root`'s `src/`, as lines of text (none: the tree is in shape). */
export function checkStructure(root: string): string[];
export const LAYERS: readonly (readonly string[])[];
export const MAX_LINES: number;
export const MAX_FILES: number;
