/**
 * The bundled PDF extractor: a PDF's structure as a `document@1.0.0`, read with pdf.js (loaded on first use, so
 * that nothing else pays for it).
 */
export { DEFAULT_MAX_PAGES, type ExtractPdfOptions, extractPdf, MAX_PDF_BYTES } from './extract.js';
