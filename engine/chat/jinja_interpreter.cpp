#include "chat/jinja_interpreter.h"

#include <memory>
#include <unordered_map>

#include "chat/jinja_access.h"
#include "chat/jinja_error.h"
#include "chat/jinja_filters.h"
#include "chat/jinja_operators.h"

namespace awq::jinja {

namespace {

constexpr int kMaxCallDepth = 256;

struct Scope;
using ScopePtr = std::shared_ptr<Scope>;

struct Scope {
    explicit Scope(ScopePtr p) : parent(std::move(p)) {}
    ScopePtr parent;
    std::unordered_map<std::string, Value> vars;

    const Value* find(const std::string& name) const {
        for (const Scope* s = this; s; s = s->parent.get()) {
            auto it = s->vars.find(name);
            if (it != s->vars.end()) return &it->second;
        }
        return nullptr;
    }
};

enum class Flow { Normal, Break, Continue };

class Renderer {
public:
    Flow exec_body(const Body& body, const ScopePtr& scope, std::string& out) {
        for (const StmtPtr& s : body) {
            const Flow f = exec(*s, scope, out);
            if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
    }

private:
    Flow exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
        try {
            return exec_unchecked(s, scope, out);
        } catch (TemplateError& e) {
            e.set_line_if_unknown(s.line);
            throw;
        }
    }

    Flow exec_unchecked(const Stmt& s, const ScopePtr& scope, std::string& out) {
        switch (s.kind) {
            case StmtKind::Text: out += static_cast<const TextStmt&>(s).text; return Flow::Normal;
            case StmtKind::Output: out += to_str(eval(*static_cast<const OutputStmt&>(s).expr, scope)); return Flow::Normal;
            case StmtKind::If: {
                const auto& st = static_cast<const IfStmt&>(s);
                for (const auto& branch : st.branches)
                    if (truthy(eval(*branch.first, scope))) return exec_body(branch.second, scope, out);
                return exec_body(st.otherwise, scope, out);
            }
            case StmtKind::For: exec_for(static_cast<const ForStmt&>(s), scope, out); return Flow::Normal;
            case StmtKind::Set: {
                const auto& st = static_cast<const SetStmt&>(s);
                assign(st.target, eval(*st.value, scope), *scope);
                return Flow::Normal;
            }
            case StmtKind::SetBlock: {
                const auto& st = static_cast<const SetBlockStmt&>(s);
                std::string text;
                exec_body(st.body, std::make_shared<Scope>(scope), text);
                Value v(std::move(text));
                if (st.filter) v = apply_filter_chain(*st.filter, v, scope);
                assign(st.target, v, *scope);
                return Flow::Normal;
            }
            case StmtKind::Macro: {
                const auto& st = static_cast<const MacroStmt&>(s);
                scope->vars[st.name] = make_macro(st.name, st.params, st.body, scope);
                return Flow::Normal;
            }
            case StmtKind::CallBlock: {
                const auto& st = static_cast<const CallBlockStmt&>(s);
                Value caller = make_macro("caller", st.caller_params, st.body, scope);
                out += to_str(eval_call(static_cast<const CallExpr&>(*st.call), scope, &caller));
                return Flow::Normal;
            }
            case StmtKind::FilterBlock: {
                const auto& st = static_cast<const FilterBlockStmt&>(s);
                std::string text;
                exec_body(st.body, std::make_shared<Scope>(scope), text);
                out += to_str(apply_filter_chain(*st.filter, Value(std::move(text)), scope));
                return Flow::Normal;
            }
            case StmtKind::With: {
                const auto& st = static_cast<const WithStmt&>(s);
                auto inner = std::make_shared<Scope>(scope);
                for (const auto& a : st.assignments) assign(a.first, eval(*a.second, scope), *inner);
                return exec_body(st.body, inner, out);
            }
            case StmtKind::Scoped:
                return exec_body(static_cast<const ScopedStmt&>(s).body, std::make_shared<Scope>(scope), out);
            case StmtKind::Break: return Flow::Break;
            case StmtKind::Continue: return Flow::Continue;
        }
        return Flow::Normal;
    }

    void assign(const AssignTarget& target, const Value& value, Scope& scope) {
        if (!target.ns_attr.empty()) {
            const Value* ns = scope.find(target.names[0]);
            if (!ns || !ns->is_namespace()) throw TemplateError("cannot assign attribute on non-namespace object");
            if (target.ns_attr[0] == '_')
                throw TemplateError("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                                    target.ns_attr + "'. Please rename the attribute.");
            ns->as_namespace().set(target.ns_attr, value);
            return;
        }
        if (!target.is_tuple) {
            scope.vars[target.names[0]] = value;
            return;
        }
        const std::vector<Value> items = iterate(value);
        if (items.size() > target.names.size())
            throw TemplateError("too many values to unpack (expected " + std::to_string(target.names.size()) + ")");
        if (items.size() < target.names.size())
            throw TemplateError("not enough values to unpack (expected " + std::to_string(target.names.size()) + ", got " +
                                std::to_string(items.size()) + ")");
        for (size_t i = 0; i < items.size(); ++i) scope.vars[target.names[i]] = items[i];
    }

    void exec_for(const ForStmt& st, const ScopePtr& scope, std::string& out) {
        const std::vector<Value> all = iterate(eval(*st.iter, scope));
        std::vector<Value> items;
        if (st.filter) {
            for (const Value& item : all) {
                auto probe = std::make_shared<Scope>(scope);
                assign(st.target, item, *probe);
                if (truthy(eval(*st.filter, probe))) items.push_back(item);
            }
        } else {
            items = all;
        }
        if (items.empty()) {
            exec_body(st.otherwise, std::make_shared<Scope>(scope), out);
            return;
        }
        const auto n = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < n; ++i) {
            auto iteration = std::make_shared<Scope>(scope);
            assign(st.target, items[static_cast<size_t>(i)], *iteration);
            iteration->vars["loop"] = loop_object(items, i);
            if (exec_body(st.body, iteration, out) == Flow::Break) break;
        }
    }

    static Value loop_object(const std::vector<Value>& items, int64_t i) {
        const auto n = static_cast<int64_t>(items.size());
        std::vector<std::pair<Value, Value>> fields = {
            {Value("index"), Value(i + 1)},
            {Value("index0"), Value(i)},
            {Value("revindex"), Value(n - i)},
            {Value("revindex0"), Value(n - i - 1)},
            {Value("first"), Value(i == 0)},
            {Value("last"), Value(i == n - 1)},
            {Value("length"), Value(n)},
            {Value("depth"), Value(int64_t{1})},
            {Value("depth0"), Value(int64_t{0})},
        };
        if (i > 0) fields.emplace_back(Value("previtem"), items[static_cast<size_t>(i - 1)]);
        if (i + 1 < n) fields.emplace_back(Value("nextitem"), items[static_cast<size_t>(i + 1)]);
        fields.emplace_back(Value("cycle"), Value::callable("loop.cycle", [i](CallArgs& args) -> Value {
                                if (!args.keyword.empty()) throw TemplateError("loop.cycle() takes no keyword arguments");
                                if (args.positional.empty()) throw TemplateError("no items for cycling given");
                                return args.positional[static_cast<size_t>(i) % args.positional.size()];
                            }));
        return Value::dict(std::move(fields));
    }

    Value make_macro(const std::string& name, const std::vector<MacroParam>& params, const Body& body,
                     const ScopePtr& defined_in) {
        // A weak link: the macro is usually stored in the scope it closes over, and a strong one would leak both.
        std::weak_ptr<Scope> weak_scope = defined_in;
        return Value::callable(name, [this, name, &params, &body, weak_scope](CallArgs& args) -> Value {
            ScopePtr defined_in = weak_scope.lock();
            if (!defined_in) throw TemplateError("macro '" + name + "' called after the scope it was defined in ended");
            if (++depth_ > kMaxCallDepth) {
                --depth_;
                throw TemplateError("maximum macro call depth exceeded");
            }
            struct Leave {
                int& d;
                ~Leave() { --d; }
            } leave{depth_};
            auto scope = std::make_shared<Scope>(defined_in);
            if (args.positional.size() > params.size())
                throw TemplateError("macro '" + name + "' takes not more than " + std::to_string(params.size()) +
                                    " argument(s)");
            std::vector<bool> set(params.size(), false);
            for (size_t i = 0; i < args.positional.size(); ++i) {
                scope->vars[params[i].name] = args.positional[i];
                set[i] = true;
            }
            for (const auto& kw : args.keyword) {
                size_t k = 0;
                while (k < params.size() && params[k].name != kw.first) ++k;
                if (k == params.size()) {
                    if (kw.first == "caller") {
                        scope->vars["caller"] = kw.second;
                        continue;
                    }
                    throw TemplateError("macro '" + name + "' takes no keyword argument '" + kw.first + "'");
                }
                if (set[k]) throw TemplateError("macro '" + name + "' got multiple values for argument '" + kw.first + "'");
                scope->vars[kw.first] = kw.second;
                set[k] = true;
            }
            for (size_t i = 0; i < params.size(); ++i) {
                if (set[i]) continue;
                scope->vars[params[i].name] =
                    params[i].default_value ? eval(*params[i].default_value, scope)
                                            : Value::undefined("parameter '" + params[i].name + "' was not provided");
            }
            std::string text;
            exec_body(body, scope, text);
            return Value(std::move(text));
        });
    }

    Value apply_filter_chain(const Expr& e, const Value& input, const ScopePtr& scope) {
        const auto& f = static_cast<const FilterExpr&>(e);
        const Value in = f.input ? apply_filter_chain(*f.input, input, scope) : input;
        CallArgs args = eval_args(f.args, scope);
        return apply_filter(f.name, in, args);
    }

    CallArgs eval_args(const CallArguments& a, const ScopePtr& scope) {
        CallArgs args;
        for (const auto& p : a.positional) args.positional.push_back(eval(*p, scope));
        for (const auto& k : a.keyword) args.keyword.emplace_back(k.first, eval(*k.second, scope));
        return args;
    }

    Value eval_call(const CallExpr& c, const ScopePtr& scope, const Value* caller) {
        const Value callee = eval(*c.callee, scope);
        CallArgs args = eval_args(c.args, scope);
        if (caller) args.keyword.emplace_back("caller", *caller);
        if (callee.is_undefined()) throw_undefined(callee);
        if (!callee.is_callable()) throw TemplateError("'" + type_name(callee) + "' object is not callable");
        return callee.as_callable().fn(args);
    }

    Value eval(const Expr& e, const ScopePtr& scope) {
        try {
            return eval_unchecked(e, scope);
        } catch (TemplateError& err) {
            err.set_line_if_unknown(e.line);
            throw;
        }
    }

    Value eval_unchecked(const Expr& e, const ScopePtr& scope) {
        switch (e.kind) {
            case ExprKind::Literal: return static_cast<const LiteralExpr&>(e).value;
            case ExprKind::Name: {
                const auto& n = static_cast<const NameExpr&>(e);
                if (const Value* v = scope->find(n.name)) return *v;
                return Value::undefined("'" + n.name + "' is undefined");
            }
            case ExprKind::GetAttr: {
                const auto& g = static_cast<const GetAttrExpr&>(e);
                return get_attr(eval(*g.object, scope), g.attr);
            }
            case ExprKind::GetItem: {
                const auto& g = static_cast<const GetItemExpr&>(e);
                const Value obj = eval(*g.object, scope);
                if (g.index->kind == ExprKind::Slice) {
                    const auto& s = static_cast<const SliceExpr&>(*g.index);
                    const Value none{None{}};
                    return get_slice(obj, s.start ? eval(*s.start, scope) : none, s.stop ? eval(*s.stop, scope) : none,
                                     s.step ? eval(*s.step, scope) : none);
                }
                return get_item(obj, eval(*g.index, scope));
            }
            case ExprKind::Slice: throw TemplateError("slice outside of a subscript");
            case ExprKind::Call: return eval_call(static_cast<const CallExpr&>(e), scope, nullptr);
            case ExprKind::Filter: {
                const auto& f = static_cast<const FilterExpr&>(e);
                const Value in = eval(*f.input, scope);
                return apply_filter(f.name, in, eval_args(f.args, scope));
            }
            case ExprKind::Test: {
                const auto& t = static_cast<const TestExpr&>(e);
                const Value in = eval(*t.input, scope);
                return Value(apply_test(t.name, in, eval_args(t.args, scope)));
            }
            case ExprKind::Unary: {
                const auto& u = static_cast<const UnaryExpr&>(e);
                return unary_op(u.op, eval(*u.operand, scope));
            }
            case ExprKind::Binary: {
                const auto& b = static_cast<const BinaryExpr&>(e);
                const Value l = eval(*b.left, scope);
                return binary_op(b.op, l, eval(*b.right, scope));
            }
            case ExprKind::Compare: {
                const auto& c = static_cast<const CompareExpr&>(e);
                Value left = eval(*c.first, scope);
                for (const auto& [op, expr] : c.rest) {
                    Value right = eval(*expr, scope);
                    bool ok;
                    if (op == "==") ok = equals(left, right);
                    else if (op == "!=") ok = !equals(left, right);
                    else if (op == "<") ok = compare(left, right) < 0;
                    else if (op == "<=") ok = compare(left, right) <= 0;
                    else if (op == ">") ok = compare(left, right) > 0;
                    else if (op == ">=") ok = compare(left, right) >= 0;
                    else if (op == "in") ok = contains(right, left);
                    else ok = !contains(right, left);
                    if (!ok) return Value(false);
                    left = std::move(right);
                }
                return Value(true);
            }
            case ExprKind::And: {
                const auto& l = static_cast<const LogicalExpr&>(e);
                Value left = eval(*l.left, scope);
                return truthy(left) ? eval(*l.right, scope) : left;
            }
            case ExprKind::Or: {
                const auto& l = static_cast<const LogicalExpr&>(e);
                Value left = eval(*l.left, scope);
                return truthy(left) ? left : eval(*l.right, scope);
            }
            case ExprKind::Not: return Value(!truthy(eval(*static_cast<const NotExpr&>(e).operand, scope)));
            case ExprKind::Cond: {
                const auto& c = static_cast<const CondExpr&>(e);
                if (truthy(eval(*c.test, scope))) return eval(*c.then, scope);
                if (c.otherwise) return eval(*c.otherwise, scope);
                return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                        " evaluated to false and no else section was defined.");
            }
            case ExprKind::List:
            case ExprKind::Tuple: {
                const auto& s = static_cast<const SequenceExpr&>(e);
                std::vector<Value> items;
                items.reserve(s.items.size());
                for (const auto& item : s.items) items.push_back(eval(*item, scope));
                return Value::list(std::move(items), e.kind == ExprKind::Tuple);
            }
            case ExprKind::Dict: {
                const auto& d = static_cast<const DictExpr&>(e);
                auto data = std::make_shared<DictData>();
                for (const auto& [k, v] : d.items) {
                    Value key = eval(*k, scope);
                    data->set(std::move(key), eval(*v, scope));
                }
                return Value(DictPtr(std::move(data)));
            }
        }
        throw TemplateError("unknown expression");
    }

    int depth_ = 0;
};

}  // namespace

std::string Interpreter::render(const std::vector<std::pair<std::string, Value>>& variables) {
    auto root = std::make_shared<Scope>(nullptr);
    for (const auto& [name, value] : variables) root->vars[name] = value;
    std::string out;
    Renderer r;
    r.exec_body(ast_.body, root, out);
    return out;
}

}  // namespace awq::jinja
