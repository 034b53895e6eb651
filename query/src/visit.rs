//! Walking a statement's literals, and questions about a statement as a whole.

use crate::ast::StatementKind as K;
use crate::ast::{
    DescribeTarget, EvaluateTask, Filter, Literal, LiteralValue, OptionPair, Query, Recommend, ShowObject,
    Similar, Statement,
};

/// Visits every literal of a statement, in the order they appear in its text. One macro body serves the
/// shared and the mutable walk, so the two can never disagree on the order.
macro_rules! walk {
    ($name:ident, $recommend:ident, $similar:ident, $filter:ident, $options:ident, $($mut:tt)?) => {
        fn $name(statement: & $($mut)? crate::ast::StatementKind, f: &mut impl FnMut(& $($mut)? Literal)) {
            match statement {
                K::Add { key, label, tags, .. } => {
                    f(key);
                    if let Some(label) = label {
                        f(label);
                    }
                    for tag in tags {
                        f(tag);
                    }
                }
                K::InsertInteraction { user, item, weight, time } => {
                    f(user);
                    f(item);
                    if let Some(weight) = weight {
                        f(weight);
                    }
                    if let Some(time) = time {
                        f(time);
                    }
                }
                K::DeleteInteraction { user, item } => {
                    f(user);
                    f(item);
                }
                K::Delete { key, .. } => f(key),
                K::Import { path, options, .. } => {
                    f(path);
                    $options(options, f);
                }
                K::SplitHoldout { fraction, seed } => {
                    f(fraction);
                    if let Some(seed) = seed {
                        f(seed);
                    }
                }
                K::SplitClear | K::DropModel { .. } => {}
                K::Train { options, .. } => $options(options, f),
                K::Recommend(recommend) | K::Explain(Query::Recommend(recommend)) => $recommend(recommend, f),
                K::Similar(similar) | K::Explain(Query::Similar(similar)) => $similar(similar, f),
                K::RecommendTags(tags) => {
                    f(& $($mut)? tags.key);
                    f(& $($mut)? tags.top);
                    $options(& $($mut)? tags.options, f);
                }
                K::Evaluate { rerank, task, against, cutoffs, options, .. } => {
                    if let Some(rerank) = rerank {
                        f(& $($mut)? rerank.candidates);
                    }
                    if let Some(EvaluateTask::ColdItems(path) | EvaluateTask::ColdUsers(path)) = task {
                        f(path);
                    }
                    if let Some(source) = against {
                        f(& $($mut)? source.path);
                    }
                    for cutoff in cutoffs {
                        f(cutoff);
                    }
                    $options(options, f);
                }
                K::Show(show) => {
                    if let ShowObject::Interactions(Some((_, key))) = & $($mut)? show.object {
                        f(key);
                    }
                    if let Some(filter) = & $($mut)? show.filter {
                        $filter(filter, f);
                    }
                    if let Some(limit) = & $($mut)? show.limit {
                        f(limit);
                    }
                    if let Some(offset) = & $($mut)? show.offset {
                        f(offset);
                    }
                }
                K::Describe(DescribeTarget::User(key) | DescribeTarget::Item(key)) => f(key),
                K::Describe(DescribeTarget::Model(_)) | K::Check => {}
                K::CancelJob { job } | K::WaitJob { job } => f(job),
                K::ExportCodes { path, .. } => f(path),
                K::ExportRecommendations { top, path, .. } => {
                    f(top);
                    f(path);
                }
                K::Set { value, .. } => f(value),
            }
        }

        fn $recommend(recommend: & $($mut)? Recommend, f: &mut impl FnMut(& $($mut)? Literal)) {
            f(& $($mut)? recommend.user);
            f(& $($mut)? recommend.top);
            if let Some(rerank) = & $($mut)? recommend.rerank {
                f(& $($mut)? rerank.candidates);
            }
            if let Some(filter) = & $($mut)? recommend.filter {
                $filter(filter, f);
            }
            $options(& $($mut)? recommend.options, f);
        }

        fn $similar(similar: & $($mut)? Similar, f: &mut impl FnMut(& $($mut)? Literal)) {
            f(& $($mut)? similar.key);
            f(& $($mut)? similar.top);
            if let Some(filter) = & $($mut)? similar.filter {
                $filter(filter, f);
            }
            $options(& $($mut)? similar.options, f);
        }

        fn $filter(filter: & $($mut)? Filter, f: &mut impl FnMut(& $($mut)? Literal)) {
            match filter {
                Filter::TagEq { tag, .. } => f(tag),
                Filter::TagIn { tags: list, .. } | Filter::ItemIn { items: list, .. } => {
                    for literal in list {
                        f(literal);
                    }
                }
                Filter::Not { operand, .. } => $filter(operand, f),
                Filter::And { operands, .. } | Filter::Or { operands, .. } => {
                    for operand in operands {
                        $filter(operand, f);
                    }
                }
            }
        }

        fn $options(options: & $($mut)? [OptionPair], f: &mut impl FnMut(& $($mut)? Literal)) {
            for option in options {
                f(& $($mut)? option.value);
            }
        }
    };
}

walk!(walk, walk_recommend, walk_similar, walk_filter, walk_options,);
walk!(walk_mut, walk_recommend_mut, walk_similar_mut, walk_filter_mut, walk_options_mut, mut);

impl Statement {
    /// Calls `f` on every literal (and `?` placeholder) of the statement, in text order.
    pub fn for_each_literal(&self, mut f: impl FnMut(&Literal)) {
        walk(&self.kind, &mut f);
    }

    /// Calls `f` on every literal of the statement, in text order, letting it change them; for instance to
    /// replace each [`LiteralValue::Param`] with its bound value.
    pub fn for_each_literal_mut(&mut self, mut f: impl FnMut(&mut Literal)) {
        walk_mut(&mut self.kind, &mut f);
    }

    /// How many `?` placeholders the statement holds. From [`crate::parse_statement`] they are numbered
    /// `0..param_count()`; in a script, numbering runs on across statements.
    pub fn param_count(&self) -> usize {
        let mut count = 0;
        self.for_each_literal(|literal| {
            count += usize::from(matches!(literal.value, LiteralValue::Param(_)))
        });
        count
    }

    /// Whether the statement leaves the database unchanged: RECOMMEND, SIMILAR, EXPLAIN, EVALUATE, SHOW,
    /// DESCRIBE, WAIT JOB, CHECK and EXPORT (which writes a file, not the database). Everything else (ADD,
    /// INSERT, DELETE, IMPORT, SPLIT, TRAIN, DROP, CANCEL JOB, SET) is a write.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self.kind,
            K::Recommend(_)
                | K::RecommendTags(_)
                | K::Similar(_)
                | K::Explain(_)
                | K::Evaluate { .. }
                | K::Show(_)
                | K::Describe(_)
                | K::WaitJob { .. }
                | K::Check
                | K::ExportCodes { .. }
                | K::ExportRecommendations { .. }
        )
    }
}
