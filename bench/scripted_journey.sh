# Sourced by load_vs_peers.sh (section 2) and load_callgrind.sh: the scripted journey both
# measure (CSV login, captured token, three GETs, a JSON POST) against crest_load_target.
# write_scripted_journey DIR PORT VUS SECONDS: writes DIR/users.csv and DIR/journey.yaml.
write_scripted_journey() {
  local dir="$1" port="$2" vus="$3" seconds="$4"
  python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    f.write('email,password\n')
    for i in range(1000): f.write(f'user{i}@bench.test,pw{i}\n')
" "$dir/users.csv"
  cat > "$dir/journey.yaml" <<YAML
target: http://127.0.0.1:$port
data:
  users: {file: users.csv, mode: sequential}
journeys:
  - name: shopper
    steps:
      - name: login
        request: {method: POST, path: /api/login, json: {email: "{{ users.email }}", password: "{{ users.password }}"}}
        capture: [{name: token, json: \$.token}]
        check: {status: 200}
      - name: products
        request: {path: /api/products, query: {page: "{{ randint(1, 5) }}"}, headers: {Authorization: "Bearer {{ token }}"}}
        capture: [{name: pid, json: "\$.items[0].id"}]
      - name: product
        request: {path: "/api/products/{{ pid }}", headers: {Authorization: "Bearer {{ token }}"}}
      - name: hello
        request: {path: /hello, headers: {Authorization: "Bearer {{ token }}"}}
      - name: add to cart
        request: {method: POST, path: /api/cart/items, headers: {Authorization: "Bearer {{ token }}"}, json: {product_id: "{{{ pid }}}", quantity: 1}}
        check: {status: 201}
load: {executor: constant-vus, vus: $vus, duration: ${seconds}s, threads: 1}
YAML
}
