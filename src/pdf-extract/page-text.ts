/**
 * What the layout works from: a page's text runs as pdf.js reports them, placed in PDF points with the origin at
 * the top left (as marker places blocks), each with its font; and the boxes blocks are given. Pure data.
 */

/** `[x0, y0, x1, y1]`: left, top, right, bottom, in points from the page's top-left corner. */
export type Box = [number, number, number, number];

/** A font as the page uses it: pdf.js's key for it, its name without a subset prefix, its style. */
export interface FontFace {
  key: string;
  name: string;
  bold: boolean;
  italic: boolean;
}

/** One piece of text drawn in one font at one size. */
export interface TextRun {
  text: string;
  box: Box;
  /** Font size in points. */
  size: number;
  font: FontFace;
  /** Drawn at an angle (vertical margin notes, rotated labels): kept, but never joined with level text. */
  rotated: boolean;
}

/** A page's size and its text, in the order the page draws it. */
export interface PageText {
  /** 0-based. */
  index: number;
  width: number;
  height: number;
  runs: TextRun[];
}

/** The information a PDF gives about itself, as found (absent fields left out). */
export interface PdfInfo {
  title?: string;
  author?: string;
  subject?: string;
  keywords?: string;
  created?: Date;
  modified?: Date;
  producer?: string;
  creator?: string;
}

/** The font name when pdf.js cannot say: its key, which at least tells fonts apart. */
export const UNKNOWN_FONT = (key: string): FontFace => ({ key, name: key, bold: false, italic: false });

/** The smallest box holding all of `boxes` (which must not be empty). */
export function unionBox(boxes: readonly Box[]): Box {
  const out: Box = [...(boxes[0] as Box)];
  for (const b of boxes) {
    if (b[0] < out[0]) out[0] = b[0];
    if (b[1] < out[1]) out[1] = b[1];
    if (b[2] > out[2]) out[2] = b[2];
    if (b[3] > out[3]) out[3] = b[3];
  }
  return out;
}

/** A coordinate to a hundredth of a point: finer than any layout needs, and the JSON stays short. */
export function roundPoint(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The box rounded, and its four corners clockwise from the top left, as marker writes them. */
export function placement(box: Box): { bbox: number[]; polygon: number[][] } {
  const [x0, y0, x1, y1] = box.map(roundPoint) as Box;
  return {
    bbox: [x0, y0, x1, y1],
    polygon: [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
    ],
  };
}
