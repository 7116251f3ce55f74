#include "chat/jinja_parser.h"

#include <algorithm>

#include "chat/jinja_error.h"
#include "chat/jinja_filters.h"
#include "chat/jinja_lexer.h"

namespace awq::jinja {

namespace {

std::string describe(const Token& t) {
    switch (t.type) {
        case TokenType::Data: return "template data";
        case TokenType::VariableBegin: return "'{{'";
        case TokenType::VariableEnd: return "end of print statement '}}'";
        case TokenType::BlockBegin: return "'{%'";
        case TokenType::BlockEnd: return "end of statement block '%}'";
        case TokenType::Name: return "'" + t.text + "'";
        case TokenType::String: return "string";
        case TokenType::Integer: return "integer";
        case TokenType::Float: return "float";
        case TokenType::Operator: return "'" + t.text + "'";
        case TokenType::End: return "end of template";
    }
    return "token";
}

template <typename T, typename... A>
std::unique_ptr<T> make(A&&... a) {
    return std::make_unique<T>(std::forward<A>(a)...);
}

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

    TemplateAst parse() {
        TemplateAst ast;
        ast.body = parse_body({}, "", 0);
        if (cur().type != TokenType::End) fail("unexpected " + describe(cur()));
        return ast;
    }

private:
    const Token& cur() const { return t_[i_]; }
    const Token& peek(size_t n = 1) const { return t_[std::min(i_ + n, t_.size() - 1)]; }
    const Token& next() {
        const Token& t = t_[i_];
        if (i_ + 1 < t_.size()) ++i_;
        return t;
    }
    static bool is_op(const Token& t, std::string_view op) { return t.type == TokenType::Operator && t.text == op; }
    static bool is_name(const Token& t, std::string_view n) { return t.type == TokenType::Name && t.text == n; }

    [[noreturn]] void fail(const std::string& message, int line = 0) const {
        throw TemplateError(message, line ? line : cur().line);
    }
    void expect_op(std::string_view op) {
        if (!is_op(cur(), op)) fail("expected '" + std::string(op) + "', got " + describe(cur()));
        next();
    }
    std::string expect_name() {
        if (cur().type != TokenType::Name) fail("expected a name, got " + describe(cur()));
        return next().text;
    }
    void expect_block_end() {
        if (cur().type != TokenType::BlockEnd) fail("expected end of statement block, got " + describe(cur()));
        next();
    }

    // Statements until a block tag named in `ends`; returns with the cursor on that tag's name.
    Body parse_body(const std::vector<std::string_view>& ends, const std::string& opener, int open_line) {
        Body body;
        while (true) {
            const Token& t = cur();
            switch (t.type) {
                case TokenType::Data:
                    body.push_back(make<TextStmt>(t.text, t.line));
                    next();
                    break;
                case TokenType::VariableBegin: {
                    const int line = t.line;
                    next();
                    ExprPtr e = parse_tuple(false, true, {}, false);
                    if (cur().type != TokenType::VariableEnd)
                        fail("expected end of print statement '}}', got " + describe(cur()));
                    next();
                    body.push_back(make<OutputStmt>(std::move(e), line));
                    break;
                }
                case TokenType::BlockBegin: {
                    const int line = t.line;
                    next();
                    if (cur().type != TokenType::Name) fail("tag name expected, got " + describe(cur()));
                    if (std::find(ends.begin(), ends.end(), cur().text) != ends.end()) return body;
                    body.push_back(parse_statement(line));
                    break;
                }
                case TokenType::End:
                    if (!ends.empty()) {
                        std::string expected;
                        for (size_t k = 0; k < ends.size(); ++k)
                            expected += (k ? " or '" : "'") + std::string(ends[k]) + "'";
                        fail("unexpected end of template: the '" + opener + "' block opened at line " +
                                 std::to_string(open_line) + " is never closed (expected " + expected + ")",
                             t.line);
                    }
                    return body;
                default: fail("unexpected " + describe(t));
            }
        }
    }

    // After parse_body returned on an end tag: consume `{% name %}`'s name and the `%}`.
    void close_block() {
        next();
        expect_block_end();
    }

    // Recursive descent: cap the nesting so a hostile template fails with an error, not a stack overflow.
    struct DepthGuard {
        explicit DepthGuard(Parser& p) : p_(p) {
            if (++p_.depth_ > kMaxDepth) p_.fail("template nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
        }
        ~DepthGuard() { --p_.depth_; }
        Parser& p_;
    };
    static constexpr int kMaxDepth = 256;

    StmtPtr parse_statement(int line) {
        const DepthGuard guard(*this);
        const std::string tag = cur().text;
        if (tag == "if") return parse_if(line);
        if (tag == "for") return parse_for(line);
        if (tag == "set") return parse_set(line);
        if (tag == "macro") return parse_macro(line);
        if (tag == "call") return parse_call_block(line);
        if (tag == "filter") return parse_filter_block(line);
        if (tag == "with") return parse_with(line);
        if (tag == "generation") {  // transformers' AssistantTracker extension: renders its body as is
            next();
            expect_block_end();
            auto s = make<ScopedStmt>(line);
            s->body = parse_body({"endgeneration"}, "generation", line);
            close_block();
            return s;
        }
        if (tag == "break" || tag == "continue") {
            if (loop_depth_ == 0) fail("'" + tag + "' outside of a for loop");
            next();
            expect_block_end();
            return make<LoopControlStmt>(tag == "break" ? StmtKind::Break : StmtKind::Continue, line);
        }
        static const char* const unsupported[] = {"block", "extends", "include", "import", "from", "autoescape", "do"};
        for (const char* u : unsupported)
            if (tag == u) fail("the '" + tag + "' tag is not supported in chat templates");
        fail("unknown tag '" + tag + "'");
    }

    StmtPtr parse_if(int line) {
        next();
        auto s = make<IfStmt>(line);
        ExprPtr test = parse_tuple(false, false, {}, false);
        expect_block_end();
        while (true) {
            Body body = parse_body({"elif", "else", "endif"}, "if", line);
            s->branches.emplace_back(std::move(test), std::move(body));
            const std::string tag = next().text;
            if (tag == "elif") {
                test = parse_tuple(false, false, {}, false);
                expect_block_end();
                continue;
            }
            expect_block_end();
            if (tag == "else") {
                s->otherwise = parse_body({"endif"}, "if", line);
                close_block();
            }
            return s;
        }
    }

    StmtPtr parse_for(int line) {
        next();
        auto s = make<ForStmt>(line);
        s->target = parse_assign_target(false, {"in"});
        if (!is_name(cur(), "in")) fail("expected 'in', got " + describe(cur()));
        next();
        s->iter = parse_tuple(false, false, {"recursive"}, false);
        if (is_name(cur(), "if")) {
            next();
            s->filter = parse_expression(true);
        }
        if (is_name(cur(), "recursive")) fail("recursive for loops are not supported");
        expect_block_end();
        ++loop_depth_;
        s->body = parse_body({"endfor", "else"}, "for", line);
        --loop_depth_;
        if (next().text == "else") {
            expect_block_end();
            s->otherwise = parse_body({"endfor"}, "for", line);
            close_block();
        } else {
            expect_block_end();
        }
        return s;
    }

    StmtPtr parse_set(int line) {
        next();
        AssignTarget target = parse_assign_target(true, {});
        if (is_op(cur(), "=")) {
            next();
            auto s = make<SetStmt>(line);
            s->target = std::move(target);
            s->value = parse_tuple(false, true, {}, false);
            expect_block_end();
            return s;
        }
        auto s = make<SetBlockStmt>(line);
        s->target = std::move(target);
        if (is_op(cur(), "|")) s->filter = parse_filter(nullptr, false);
        expect_block_end();
        s->body = parse_body({"endset"}, "set", line);
        close_block();
        return s;
    }

    std::vector<MacroParam> parse_signature() {
        std::vector<MacroParam> params;
        expect_op("(");
        while (!is_op(cur(), ")")) {
            if (!params.empty()) expect_op(",");
            if (is_op(cur(), ")")) break;
            MacroParam p;
            p.name = expect_name();
            if (is_op(cur(), "=")) {
                next();
                p.default_value = parse_expression(true);
            } else if (!params.empty() && params.back().default_value) {
                fail("non-default argument follows default argument");
            }
            params.push_back(std::move(p));
        }
        expect_op(")");
        return params;
    }

    StmtPtr parse_macro(int line) {
        next();
        auto s = make<MacroStmt>(line);
        s->name = expect_name();
        s->params = parse_signature();
        expect_block_end();
        const int saved = loop_depth_;
        loop_depth_ = 0;
        s->body = parse_body({"endmacro"}, "macro", line);
        loop_depth_ = saved;
        close_block();
        return s;
    }

    StmtPtr parse_call_block(int line) {
        next();
        auto s = make<CallBlockStmt>(line);
        if (is_op(cur(), "(")) s->caller_params = parse_signature();
        s->call = parse_expression(true);
        if (s->call->kind != ExprKind::Call) fail("expected call");
        expect_block_end();
        const int saved = loop_depth_;
        loop_depth_ = 0;
        s->body = parse_body({"endcall"}, "call", line);
        loop_depth_ = saved;
        close_block();
        return s;
    }

    StmtPtr parse_filter_block(int line) {
        next();
        auto s = make<FilterBlockStmt>(line);
        s->filter = parse_filter(nullptr, true);
        expect_block_end();
        s->body = parse_body({"endfilter"}, "filter", line);
        close_block();
        return s;
    }

    StmtPtr parse_with(int line) {
        next();
        auto s = make<WithStmt>(line);
        while (cur().type != TokenType::BlockEnd) {
            if (!s->assignments.empty()) expect_op(",");
            AssignTarget target = parse_assign_target(false, {});
            expect_op("=");
            s->assignments.emplace_back(std::move(target), parse_expression(true));
        }
        next();
        s->body = parse_body({"endwith"}, "with", line);
        close_block();
        return s;
    }

    AssignTarget parse_assign_target(bool with_namespace, const std::vector<std::string_view>& extra_ends) {
        AssignTarget target;
        if (with_namespace && cur().type == TokenType::Name && is_op(peek(), ".")) {
            target.names.push_back(next().text);
            next();
            target.ns_attr = expect_name();
            return target;
        }
        // A name or an unparenthesised / parenthesised tuple of names.
        bool parens = false;
        if (is_op(cur(), "(")) {
            parens = true;
            next();
        }
        while (true) {
            if (!target.names.empty()) {
                if (!is_op(cur(), ",")) break;
                next();
                target.is_tuple = true;
                if (is_tuple_end(extra_ends) || (parens && is_op(cur(), ")"))) break;
            }
            if (cur().type != TokenType::Name) fail("can't assign to " + describe(cur()));
            const std::string& n = cur().text;
            if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None")
                fail("can't assign to '" + n + "'");
            target.names.push_back(next().text);
        }
        if (parens) {
            expect_op(")");
            target.is_tuple = true;
        }
        return target;
    }

    bool is_tuple_end(const std::vector<std::string_view>& extra_ends) const {
        const Token& t = cur();
        if (t.type == TokenType::VariableEnd || t.type == TokenType::BlockEnd || is_op(t, ")")) return true;
        if (t.type == TokenType::Name)
            for (auto e : extra_ends)
                if (t.text == e) return true;
        return false;
    }

    ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string_view>& extra_ends,
                        bool explicit_parentheses) {
        int line = cur().line;
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        while (true) {
            if (!items.empty()) expect_op(",");
            if (is_tuple_end(extra_ends)) break;
            items.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
            if (is_op(cur(), ",")) {
                is_tuple = true;
            } else {
                break;
            }
            line = cur().line;
        }
        if (!is_tuple) {
            if (!items.empty()) return std::move(items[0]);
            if (!explicit_parentheses) fail("expected an expression, got " + describe(cur()));
        }
        auto t = make<SequenceExpr>(ExprKind::Tuple, line);
        t->items = std::move(items);
        return t;
    }

    ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

    ExprPtr parse_condexpr() {
        int line = cur().line;
        ExprPtr expr = parse_or();
        while (is_name(cur(), "if")) {
            next();
            auto c = make<CondExpr>(line);
            c->test = parse_or();
            if (is_name(cur(), "else")) {
                next();
                c->otherwise = parse_condexpr();
            }
            c->then = std::move(expr);
            expr = std::move(c);
            line = cur().line;
        }
        return expr;
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (is_name(cur(), "or")) {
            const int line = next().line;
            left = make<LogicalExpr>(ExprKind::Or, std::move(left), parse_and(), line);
        }
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_not();
        while (is_name(cur(), "and")) {
            const int line = next().line;
            left = make<LogicalExpr>(ExprKind::And, std::move(left), parse_not(), line);
        }
        return left;
    }

    ExprPtr parse_not() {
        if (is_name(cur(), "not")) {
            const int line = next().line;
            return make<NotExpr>(parse_not(), line);
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const int line = cur().line;
        ExprPtr first = parse_math1();
        std::unique_ptr<CompareExpr> cmp;
        while (true) {
            std::string op;
            const Token& t = cur();
            if (t.type == TokenType::Operator &&
                (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
                op = t.text;
                next();
            } else if (is_name(t, "in")) {
                op = "in";
                next();
            } else if (is_name(t, "not") && is_name(peek(), "in")) {
                op = "notin";
                next();
                next();
            } else {
                break;
            }
            if (!cmp) cmp = make<CompareExpr>(std::move(first), line);
            cmp->rest.emplace_back(op, parse_math1());
        }
        if (cmp) return cmp;
        return first;
    }

    ExprPtr parse_math1() {
        ExprPtr left = parse_concat();
        while (is_op(cur(), "+") || is_op(cur(), "-")) {
            const Token& t = next();
            const std::string op = t.text;
            const int line = t.line;
            left = make<BinaryExpr>(op, std::move(left), parse_concat(), line);
        }
        return left;
    }

    ExprPtr parse_concat() {
        ExprPtr left = parse_math2();
        while (is_op(cur(), "~")) {
            const int line = next().line;
            left = make<BinaryExpr>("~", std::move(left), parse_math2(), line);
        }
        return left;
    }

    ExprPtr parse_math2() {
        ExprPtr left = parse_pow();
        while (is_op(cur(), "*") || is_op(cur(), "/") || is_op(cur(), "//") || is_op(cur(), "%")) {
            const Token& t = next();
            const std::string op = t.text;
            const int line = t.line;
            left = make<BinaryExpr>(op, std::move(left), parse_pow(), line);
        }
        return left;
    }

    ExprPtr parse_pow() {
        ExprPtr left = parse_unary(true);
        while (is_op(cur(), "**")) {
            const int line = next().line;
            left = make<BinaryExpr>("**", std::move(left), parse_unary(true), line);
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        const DepthGuard guard(*this);
        ExprPtr node;
        if (is_op(cur(), "-") || is_op(cur(), "+")) {
            const Token& t = next();
            const char op = t.text[0];
            const int line = t.line;
            node = make<UnaryExpr>(op, parse_unary(false), line);
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        const int line = t.line;
        switch (t.type) {
            case TokenType::Name: {
                const std::string n = next().text;
                if (n == "true" || n == "True") return make<LiteralExpr>(Value(true), line);
                if (n == "false" || n == "False") return make<LiteralExpr>(Value(false), line);
                if (n == "none" || n == "None") return make<LiteralExpr>(Value(None{}), line);
                return make<NameExpr>(n, line);
            }
            case TokenType::String: {
                std::string s;
                while (cur().type == TokenType::String) s += next().text;  // adjacent literals concatenate
                return make<LiteralExpr>(Value(std::move(s)), line);
            }
            case TokenType::Integer: return make<LiteralExpr>(Value(next().int_value), line);
            case TokenType::Float: return make<LiteralExpr>(Value(next().float_value), line);
            case TokenType::Operator:
                if (t.text == "(") {
                    next();
                    ExprPtr e = parse_tuple(false, true, {}, true);
                    expect_op(")");
                    return e;
                }
                if (t.text == "[") return parse_list();
                if (t.text == "{") return parse_dict();
                break;
            default: break;
        }
        fail("unexpected " + describe(t));
    }

    ExprPtr parse_list() {
        auto l = make<SequenceExpr>(ExprKind::List, next().line);
        while (!is_op(cur(), "]")) {
            if (!l->items.empty()) expect_op(",");
            if (is_op(cur(), "]")) break;
            l->items.push_back(parse_expression(true));
        }
        expect_op("]");
        return l;
    }

    ExprPtr parse_dict() {
        auto d = make<DictExpr>(next().line);
        while (!is_op(cur(), "}")) {
            if (!d->items.empty()) expect_op(",");
            if (is_op(cur(), "}")) break;
            ExprPtr key = parse_expression(true);
            expect_op(":");
            d->items.emplace_back(std::move(key), parse_expression(true));
        }
        expect_op("}");
        return d;
    }

    ExprPtr parse_postfix(ExprPtr node) {
        while (true) {
            if (is_op(cur(), ".") || is_op(cur(), "[")) {
                node = parse_subscript(std::move(node));
            } else if (is_op(cur(), "(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_filter_expr(ExprPtr node) {
        while (true) {
            if (is_op(cur(), "|")) {
                node = parse_filter(std::move(node), false);
            } else if (is_name(cur(), "is")) {
                node = parse_test(std::move(node));
            } else if (is_op(cur(), "(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr node) {
        const Token& t = next();
        const int line = t.line;
        if (t.text == ".") {
            const Token& a = cur();
            if (a.type == TokenType::Name) return make<GetAttrExpr>(std::move(node), next().text, line);
            if (a.type == TokenType::Integer)
                return make<GetItemExpr>(std::move(node), make<LiteralExpr>(Value(next().int_value), line), line);
            fail("expected name or number after '.'");
        }
        std::vector<ExprPtr> args;
        while (!is_op(cur(), "]")) {
            if (!args.empty()) expect_op(",");
            args.push_back(parse_subscribed());
        }
        expect_op("]");
        ExprPtr index;
        if (args.size() == 1) {
            index = std::move(args[0]);
        } else {
            auto tuple = make<SequenceExpr>(ExprKind::Tuple, line);
            tuple->items = std::move(args);
            index = std::move(tuple);
        }
        return make<GetItemExpr>(std::move(node), std::move(index), line);
    }

    ExprPtr parse_subscribed() {
        const int line = cur().line;
        ExprPtr start;
        if (is_op(cur(), ":")) {
            next();
        } else {
            start = parse_expression(true);
            if (!is_op(cur(), ":")) return start;
            next();
        }
        auto s = make<SliceExpr>(line);
        s->start = std::move(start);
        if (!is_op(cur(), ":") && !is_op(cur(), "]") && !is_op(cur(), ",")) s->stop = parse_expression(true);
        if (is_op(cur(), ":")) {
            next();
            if (!is_op(cur(), "]") && !is_op(cur(), ",")) s->step = parse_expression(true);
        }
        return s;
    }

    CallArguments parse_call_args() {
        CallArguments args;
        expect_op("(");
        bool require_comma = false;
        while (!is_op(cur(), ")")) {
            if (require_comma) {
                expect_op(",");
                if (is_op(cur(), ")")) break;
            }
            if (is_op(cur(), "*") || is_op(cur(), "**")) fail("*args and **kwargs in calls are not supported");
            if (cur().type == TokenType::Name && is_op(peek(), "=")) {
                std::string key = next().text;
                next();
                args.keyword.emplace_back(std::move(key), parse_expression(true));
            } else {
                if (!args.keyword.empty()) fail("positional argument follows keyword argument");
                args.positional.push_back(parse_expression(true));
            }
            require_comma = true;
        }
        expect_op(")");
        return args;
    }

    ExprPtr parse_call(ExprPtr node) {
        const int line = cur().line;
        auto c = make<CallExpr>(std::move(node), line);
        c->args = parse_call_args();
        return c;
    }

    std::string parse_dotted_name() {
        std::string name = expect_name();
        while (is_op(cur(), ".")) {
            next();
            name += "." + expect_name();
        }
        return name;
    }

    ExprPtr parse_filter(ExprPtr node, bool start_inline) {
        while (is_op(cur(), "|") || start_inline) {
            if (!start_inline) next();
            start_inline = false;
            const int line = cur().line;
            std::string name = parse_dotted_name();
            auto f = make<FilterExpr>(std::move(node), std::move(name), line);
            if (is_op(cur(), "(")) f->args = parse_call_args();
            node = std::move(f);
        }
        return node;
    }

    ExprPtr parse_test(ExprPtr node) {
        const int line = next().line;  // 'is'
        bool negated = false;
        if (is_name(cur(), "not")) {
            next();
            negated = true;
        }
        std::string name = parse_dotted_name();
        auto t = make<TestExpr>(std::move(node), std::move(name), line);
        const Token& c = cur();
        if (is_op(c, "(")) {
            t->args = parse_call_args();
        } else if ((c.type == TokenType::Name || c.type == TokenType::String || c.type == TokenType::Integer ||
                    c.type == TokenType::Float || is_op(c, "[") || is_op(c, "{")) &&
                   !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and")) {
            if (is_name(c, "is")) fail("you cannot chain multiple tests with 'is'");
            t->args.positional.push_back(parse_postfix(parse_primary()));
        }
        if (negated) return make<NotExpr>(std::move(t), line);
        return t;
    }

    std::vector<Token> t_;
    size_t i_ = 0;
    int loop_depth_ = 0;
    int depth_ = 0;
};

// Jinja checks filter and test names when compiling the template, except in "soft" frames: everything
// inside an if statement (conditions and bodies, but not the blocks nested in them that open their own
// frame: loops, macros, set/filter/with blocks) and inline if-expressions. There a name that does not exist
// fails only when evaluated, so `{% if x is defined and x is some_test %}` can be guarded.
class NameChecker {
public:
    void body(const Body& b, bool soft) {
        for (const StmtPtr& s : b) stmt(*s, soft);
    }

private:
    void stmt(const Stmt& s, bool soft) {
        switch (s.kind) {
            case StmtKind::Output: expr(static_cast<const OutputStmt&>(s).expr.get(), soft); break;
            case StmtKind::If: {
                const auto& st = static_cast<const IfStmt&>(s);
                for (const auto& br : st.branches) {
                    expr(br.first.get(), true);
                    body(br.second, true);
                }
                body(st.otherwise, true);
                break;
            }
            case StmtKind::For: {
                const auto& st = static_cast<const ForStmt&>(s);
                expr(st.iter.get(), soft);
                expr(st.filter.get(), false);
                body(st.body, false);
                body(st.otherwise, false);
                break;
            }
            case StmtKind::Set: expr(static_cast<const SetStmt&>(s).value.get(), soft); break;
            case StmtKind::SetBlock: {
                const auto& st = static_cast<const SetBlockStmt&>(s);
                body(st.body, false);
                expr(st.filter.get(), false);
                break;
            }
            case StmtKind::Macro: {
                const auto& st = static_cast<const MacroStmt&>(s);
                for (const auto& p : st.params) expr(p.default_value.get(), false);
                body(st.body, false);
                break;
            }
            case StmtKind::CallBlock: {
                const auto& st = static_cast<const CallBlockStmt&>(s);
                for (const auto& p : st.caller_params) expr(p.default_value.get(), false);
                expr(st.call.get(), soft);
                body(st.body, false);
                break;
            }
            case StmtKind::FilterBlock: {
                const auto& st = static_cast<const FilterBlockStmt&>(s);
                expr(st.filter.get(), false);
                body(st.body, false);
                break;
            }
            case StmtKind::With: {
                const auto& st = static_cast<const WithStmt&>(s);
                for (const auto& a : st.assignments) expr(a.second.get(), soft);
                body(st.body, false);
                break;
            }
            case StmtKind::Scoped: body(static_cast<const ScopedStmt&>(s).body, false); break;
            default: break;
        }
    }

    void args(const CallArguments& a, bool soft) {
        for (const auto& p : a.positional) expr(p.get(), soft);
        for (const auto& k : a.keyword) expr(k.second.get(), soft);
    }

    void expr(const Expr* e, bool soft) {
        if (!e) return;
        switch (e->kind) {
            case ExprKind::GetAttr: expr(static_cast<const GetAttrExpr*>(e)->object.get(), soft); break;
            case ExprKind::GetItem: {
                const auto* g = static_cast<const GetItemExpr*>(e);
                expr(g->object.get(), soft);
                expr(g->index.get(), soft);
                break;
            }
            case ExprKind::Slice: {
                const auto* sl = static_cast<const SliceExpr*>(e);
                expr(sl->start.get(), soft);
                expr(sl->stop.get(), soft);
                expr(sl->step.get(), soft);
                break;
            }
            case ExprKind::Call: {
                const auto* c = static_cast<const CallExpr*>(e);
                expr(c->callee.get(), soft);
                args(c->args, soft);
                break;
            }
            case ExprKind::Filter: {
                const auto* f = static_cast<const FilterExpr*>(e);
                expr(f->input.get(), soft);
                if (!soft && !is_filter(f->name)) {
                    if (is_unsupported_jinja_filter(f->name))
                        throw TemplateError("the Jinja filter '" + f->name + "' is not supported", f->line);
                    throw TemplateError("No filter named '" + f->name + "'.", f->line);
                }
                args(f->args, soft);
                break;
            }
            case ExprKind::Test: {
                const auto* t = static_cast<const TestExpr*>(e);
                expr(t->input.get(), soft);
                if (!soft && !is_test(t->name)) throw TemplateError("No test named '" + t->name + "'.", t->line);
                args(t->args, soft);
                break;
            }
            case ExprKind::Unary: expr(static_cast<const UnaryExpr*>(e)->operand.get(), soft); break;
            case ExprKind::Binary: {
                const auto* b = static_cast<const BinaryExpr*>(e);
                expr(b->left.get(), soft);
                expr(b->right.get(), soft);
                break;
            }
            case ExprKind::Compare: {
                const auto* c = static_cast<const CompareExpr*>(e);
                expr(c->first.get(), soft);
                for (const auto& r : c->rest) expr(r.second.get(), soft);
                break;
            }
            case ExprKind::And:
            case ExprKind::Or: {
                const auto* l = static_cast<const LogicalExpr*>(e);
                expr(l->left.get(), soft);
                expr(l->right.get(), soft);
                break;
            }
            case ExprKind::Not: expr(static_cast<const NotExpr*>(e)->operand.get(), soft); break;
            case ExprKind::Cond: {
                const auto* c = static_cast<const CondExpr*>(e);
                expr(c->then.get(), true);
                expr(c->test.get(), true);
                expr(c->otherwise.get(), true);
                break;
            }
            case ExprKind::List:
            case ExprKind::Tuple:
                for (const auto& i : static_cast<const SequenceExpr*>(e)->items) expr(i.get(), soft);
                break;
            case ExprKind::Dict:
                for (const auto& [k, v] : static_cast<const DictExpr*>(e)->items) {
                    expr(k.get(), soft);
                    expr(v.get(), soft);
                }
                break;
            default: break;
        }
    }
};

}  // namespace

TemplateAst parse_template(std::string_view source) {
    TemplateAst ast = Parser(tokenize(source)).parse();
    NameChecker().body(ast.body, false);
    return ast;
}

}  // namespace awq::jinja
