/* A text table with a header row, columns as wide as their widest cell,
 * and the last column cut so that rows fit a width. */
#ifndef TASKRELAY_CLI_TABLE_H
#define TASKRELAY_CLI_TABLE_H

#include <stdio.h>

struct cli_table;

/* headers has column_count entries and is copied. */
struct cli_table *cli_table_new(int column_count, const char *const *headers);
void cli_table_free(struct cli_table *table);

/* Adds a row of column_count cells, which are copied with control
 * characters replaced and cut to 200 columns each. NULL is shown as "-". */
void cli_table_add_row(struct cli_table *table, const char *const *cells);

/* Prints the table. When max_width is above 0, the last column is cut so
 * that each row fits in max_width columns where the other columns allow. */
void cli_table_print(const struct cli_table *table, FILE *out, int max_width);

#endif
