#include "cli/cli_table.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli_format.h"
#include "common/util.h"

#define CELL_MAX_COLUMNS 200
#define COLUMN_GAP 2

struct cli_table {
    int column_count;
    int row_count; /* the header row included */
    int row_cap;
    char **cells; /* row_count * column_count, row-major */
};

struct cli_table *cli_table_new(int column_count, const char *const *headers)
{
    struct cli_table *table = xcalloc(1, sizeof(*table));

    table->column_count = column_count;
    cli_table_add_row(table, headers);
    return table;
}

void cli_table_free(struct cli_table *table)
{
    if (!table)
        return;
    for (int i = 0; i < table->row_count * table->column_count; i++)
        free(table->cells[i]);
    free(table->cells);
    free(table);
}

void cli_table_add_row(struct cli_table *table, const char *const *cells)
{
    char clean[CELL_MAX_COLUMNS * 4 + 1];

    if (table->row_count == table->row_cap) {
        table->row_cap = table->row_cap ? table->row_cap * 2 : 16;
        table->cells = xrealloc(table->cells, (size_t)table->row_cap *
                                                  (size_t)table->column_count * sizeof(char *));
    }
    for (int i = 0; i < table->column_count; i++) {
        cli_text_fit(cells[i] ? cells[i] : "-", CELL_MAX_COLUMNS, clean, sizeof(clean));
        table->cells[table->row_count * table->column_count + i] = xstrdup(clean);
    }
    table->row_count++;
}

void cli_table_print(const struct cli_table *table, FILE *out, int max_width)
{
    int *widths = xcalloc((size_t)table->column_count, sizeof(int));
    int last = table->column_count - 1;
    int used = 0;
    char fitted[CELL_MAX_COLUMNS * 4 + 1];

    for (int r = 0; r < table->row_count; r++) {
        for (int c = 0; c < table->column_count; c++) {
            int w = (int)cli_text_columns(table->cells[r * table->column_count + c]);

            if (w > widths[c])
                widths[c] = w;
        }
    }
    for (int c = 0; c < last; c++)
        used += widths[c] + COLUMN_GAP;
    if (max_width > 0 && widths[last] > max_width - used)
        widths[last] = max_width - used > 10 ? max_width - used : 10;

    for (int r = 0; r < table->row_count; r++) {
        char **row = table->cells + r * table->column_count;

        for (int c = 0; c < last; c++) {
            int pad = widths[c] - (int)cli_text_columns(row[c]);

            fprintf(out, "%s%*s", row[c], pad + COLUMN_GAP, "");
        }
        cli_text_fit(row[last], (size_t)widths[last], fitted, sizeof(fitted));
        fprintf(out, "%s\n", fitted);
    }
    free(widths);
}
