#pragma once
// The syntax tree of a parsed Jinja template: expressions and statements, each remembering its source line
// for error messages. Built by jinja_parser, walked by jinja_interpreter.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace awq::jinja {

enum class ExprKind {
    Literal, Name, GetAttr, GetItem, Slice, Call, Filter, Test, Unary, Binary, Compare, And, Or, Not, Cond, List,
    Tuple, Dict,
};

struct Expr {
    Expr(ExprKind k, int l) : kind(k), line(l) {}
    virtual ~Expr() = default;
    ExprKind kind;
    int line;
};
using ExprPtr = std::unique_ptr<Expr>;

struct CallArguments {
    std::vector<ExprPtr> positional;
    std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct LiteralExpr : Expr {
    LiteralExpr(Value v, int l) : Expr(ExprKind::Literal, l), value(std::move(v)) {}
    Value value;
};
struct NameExpr : Expr {
    NameExpr(std::string n, int l) : Expr(ExprKind::Name, l), name(std::move(n)) {}
    std::string name;
};
struct GetAttrExpr : Expr {  // obj.name
    GetAttrExpr(ExprPtr o, std::string a, int l) : Expr(ExprKind::GetAttr, l), object(std::move(o)), attr(std::move(a)) {}
    ExprPtr object;
    std::string attr;
};
struct GetItemExpr : Expr {  // obj[index]; index may be a SliceExpr
    GetItemExpr(ExprPtr o, ExprPtr i, int l) : Expr(ExprKind::GetItem, l), object(std::move(o)), index(std::move(i)) {}
    ExprPtr object, index;
};
struct SliceExpr : Expr {  // start:stop:step, each optional
    explicit SliceExpr(int l) : Expr(ExprKind::Slice, l) {}
    ExprPtr start, stop, step;
};
struct CallExpr : Expr {
    CallExpr(ExprPtr c, int l) : Expr(ExprKind::Call, l), callee(std::move(c)) {}
    ExprPtr callee;
    CallArguments args;
};
struct FilterExpr : Expr {  // input|name(args); input is null inside {% filter %} and {% set x | f %}
    FilterExpr(ExprPtr in, std::string n, int l) : Expr(ExprKind::Filter, l), input(std::move(in)), name(std::move(n)) {}
    ExprPtr input;
    std::string name;
    CallArguments args;
};
struct TestExpr : Expr {  // input is [not] name(args)
    TestExpr(ExprPtr in, std::string n, int l) : Expr(ExprKind::Test, l), input(std::move(in)), name(std::move(n)) {}
    ExprPtr input;
    std::string name;
    CallArguments args;
};
struct UnaryExpr : Expr {  // -x, +x
    UnaryExpr(char o, ExprPtr e, int l) : Expr(ExprKind::Unary, l), op(o), operand(std::move(e)) {}
    char op;
    ExprPtr operand;
};
struct BinaryExpr : Expr {  // + - * / // % ** ~
    BinaryExpr(std::string o, ExprPtr a, ExprPtr b, int l)
        : Expr(ExprKind::Binary, l), op(std::move(o)), left(std::move(a)), right(std::move(b)) {}
    std::string op;
    ExprPtr left, right;
};
struct CompareExpr : Expr {  // a op b op c ... (Python chaining); ops: == != < <= > >= in notin
    CompareExpr(ExprPtr f, int l) : Expr(ExprKind::Compare, l), first(std::move(f)) {}
    ExprPtr first;
    std::vector<std::pair<std::string, ExprPtr>> rest;
};
struct LogicalExpr : Expr {  // And / Or, Python short-circuit returning an operand
    LogicalExpr(ExprKind k, ExprPtr a, ExprPtr b, int l) : Expr(k, l), left(std::move(a)), right(std::move(b)) {}
    ExprPtr left, right;
};
struct NotExpr : Expr {
    NotExpr(ExprPtr e, int l) : Expr(ExprKind::Not, l), operand(std::move(e)) {}
    ExprPtr operand;
};
struct CondExpr : Expr {  // then if test else otherwise (otherwise optional -> undefined)
    explicit CondExpr(int l) : Expr(ExprKind::Cond, l) {}
    ExprPtr test, then, otherwise;
};
struct SequenceExpr : Expr {  // List or Tuple literal
    SequenceExpr(ExprKind k, int l) : Expr(k, l) {}
    std::vector<ExprPtr> items;
};
struct DictExpr : Expr {
    explicit DictExpr(int l) : Expr(ExprKind::Dict, l) {}
    std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

enum class StmtKind { Text, Output, If, For, Set, SetBlock, Macro, CallBlock, FilterBlock, With, Scoped, Break, Continue };

struct Stmt {
    Stmt(StmtKind k, int l) : kind(k), line(l) {}
    virtual ~Stmt() = default;
    StmtKind kind;
    int line;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// Left side of `set` / `for`: a name, a tuple of names, or namespace attribute `ns.attr`.
struct AssignTarget {
    std::vector<std::string> names;
    bool is_tuple = false;
    std::string ns_attr;  // non-empty: names[0] is the namespace
};

struct TextStmt : Stmt {
    TextStmt(std::string t, int l) : Stmt(StmtKind::Text, l), text(std::move(t)) {}
    std::string text;
};
struct OutputStmt : Stmt {
    OutputStmt(ExprPtr e, int l) : Stmt(StmtKind::Output, l), expr(std::move(e)) {}
    ExprPtr expr;
};
struct IfStmt : Stmt {
    explicit IfStmt(int l) : Stmt(StmtKind::If, l) {}
    std::vector<std::pair<ExprPtr, Body>> branches;  // if / elif ...
    Body otherwise;
};
struct ForStmt : Stmt {
    explicit ForStmt(int l) : Stmt(StmtKind::For, l) {}
    AssignTarget target;
    ExprPtr iter, filter;
    Body body, otherwise;
};
struct SetStmt : Stmt {
    explicit SetStmt(int l) : Stmt(StmtKind::Set, l) {}
    AssignTarget target;
    ExprPtr value;
};
struct SetBlockStmt : Stmt {  // {% set x %}...{% endset %}, optionally {% set x | filter %}
    explicit SetBlockStmt(int l) : Stmt(StmtKind::SetBlock, l) {}
    AssignTarget target;
    ExprPtr filter;  // FilterExpr chain whose innermost input is null
    Body body;
};
struct MacroParam {
    std::string name;
    ExprPtr default_value;  // may be null
};
struct MacroStmt : Stmt {
    explicit MacroStmt(int l) : Stmt(StmtKind::Macro, l) {}
    std::string name;
    std::vector<MacroParam> params;
    Body body;
};
struct CallBlockStmt : Stmt {  // {% call(params) macro(args) %}body{% endcall %}
    explicit CallBlockStmt(int l) : Stmt(StmtKind::CallBlock, l) {}
    std::vector<MacroParam> caller_params;
    ExprPtr call;
    Body body;
};
struct FilterBlockStmt : Stmt {
    explicit FilterBlockStmt(int l) : Stmt(StmtKind::FilterBlock, l) {}
    ExprPtr filter;  // FilterExpr chain whose innermost input is null
    Body body;
};
struct WithStmt : Stmt {
    explicit WithStmt(int l) : Stmt(StmtKind::With, l) {}
    std::vector<std::pair<AssignTarget, ExprPtr>> assignments;
    Body body;
};
struct ScopedStmt : Stmt {  // a body rendered in its own scope, e.g. transformers' {% generation %}
    explicit ScopedStmt(int l) : Stmt(StmtKind::Scoped, l) {}
    Body body;
};
struct LoopControlStmt : Stmt {  // Break / Continue
    LoopControlStmt(StmtKind k, int l) : Stmt(k, l) {}
};

struct TemplateAst {
    Body body;
};

}  // namespace awq::jinja
