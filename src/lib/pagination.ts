/** The pagination block of every list response (docs/api-contract.md, "Pagination"). */
export interface PaginationMeta {
  page: number;
  per_page: number;
  total_items: number;
  total_pages: number;
}

export interface PageRequest {
  page: number;
  perPage: number;
}

export function pageOffset({ page, perPage }: PageRequest): number {
  return (page - 1) * perPage;
}

export function paginationMeta({ page, perPage }: PageRequest, totalItems: number): PaginationMeta {
  return { page, per_page: perPage, total_items: totalItems, total_pages: Math.ceil(totalItems / perPage) };
}

/** Escapes LIKE wildcards so a search term is matched as a plain substring. */
export function likeContains(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
