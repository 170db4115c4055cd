/** What a stage's queue holds: items, a fan-out branch's envelopes, or a fan-out's join records. */
export const Entry = { Plain: 0, Envelope: 1, Record: 2 } as const;
export type EntryKind = (typeof Entry)[keyof typeof Entry];
