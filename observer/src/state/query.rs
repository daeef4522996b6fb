//! Which processes the lists show and in what order: the `/` filter and the table's sort.

use crate::input::Action;
use crate::vocab::{Column, Filter};

/// The filter and the sort.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The filter.
    pub filter: Filter,
    /// Sort of the Processes view.
    pub sort: Column,
    /// Whether the sort runs against its column's usual direction (see [`Query::descending`]).
    pub reverse: bool,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            filter: Filter::default(),
            sort: Column::Mailbox,
            reverse: false,
        }
    }
}

impl Query {
    /// Whether the table sorts biggest first: quantities do, identities do not, and `r` flips it.
    pub fn descending(&self) -> bool {
        self.sort.is_quantity() != self.reverse
    }

    /// The filter as rows match it (lower case).
    pub fn needle(&self) -> String {
        self.filter.text.to_lowercase()
    }

    /// Apply a filter or sort action; whether the rows must be recomputed. Other actions are
    /// not this part's and change nothing.
    pub fn apply(&mut self, action: Action) -> bool {
        match action {
            Action::FilterStart => {
                self.filter.editing = true;
                false
            }
            Action::FilterInput(c) => {
                self.filter.text.push(c);
                true
            }
            Action::FilterBackspace => {
                self.filter.text.pop();
                true
            }
            Action::FilterApply => {
                self.filter.editing = false;
                false
            }
            Action::FilterCancel => {
                self.filter.editing = false;
                self.filter.text.clear();
                true
            }
            Action::Sort(c) if c == self.sort => {
                self.reverse = !self.reverse;
                true
            }
            Action::Sort(c) => {
                self.sort = c;
                self.reverse = false;
                true
            }
            Action::Reverse => {
                self.reverse = !self.reverse;
                true
            }
            _ => false,
        }
    }
}
